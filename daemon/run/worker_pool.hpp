// A small bounded pool for blocking work (libpq, pg_dump, libssh); results come back on the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace steward::run {

class WorkerPool {
  public:
    WorkerPool(boost::asio::io_context& loop, std::size_t threads) : loop_(loop), pool_(threads) {}
    ~WorkerPool() { join(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Runs `work` on a worker thread, then `done(result, error)` on the loop; `error` is the exception's
    // text when `work` threw (and `result` default-constructed).
    template <class T>
    void submit(std::function<T()> work, std::function<void(T, std::string)> done) {
        boost::asio::post(pool_, [this, work = std::move(work), done = std::move(done)]() mutable {
            T result{};
            std::string error;
            try {
                result = work();
            } catch (const std::exception& e) {
                error = e.what();
            } catch (...) {
                error = "unknown error";
            }
            boost::asio::post(
                loop_, [done = std::move(done), result = std::move(result),
                        error = std::move(error)]() mutable { done(std::move(result), std::move(error)); });
        });
    }

    void join() { pool_.join(); }

  private:
    boost::asio::io_context& loop_;
    boost::asio::thread_pool pool_;
};

}  // namespace steward::run
