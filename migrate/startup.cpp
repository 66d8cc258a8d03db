// The startup-sequence step of `steward run`: apply, validate or skip migrations per the spec.
#include "core/log.hpp"
#include "migrate/migrator.hpp"

namespace steward::migrate {

int run_startup_migrations(const MigrationsSpec& spec, const std::string& url, std::string* summary) {
    auto say = [&](const std::string& text) {
        if (summary) *summary = text;
    };
    try {
        Migrator m(options_from_spec(spec, url));
        switch (spec.on_start) {
            case MigrationsSpec::OnStart::skip:
                say("migrations skipped (on_start: skip)");
                return 0;
            case MigrationsSpec::OnStart::validate: {
                auto v = m.validate(true);
                if (!v.ok()) {
                    std::string text = "migrations are not valid:";
                    for (const auto& p : v.problems) text += "\n  " + p;
                    log::error("migrate", "startup validation failed",
                               {{"problems", static_cast<int>(v.problems.size())}});
                    say(text);
                    return 1;
                }
                say("migrations valid at version " + v.status.current_version);
                return 0;
            }
            case MigrationsSpec::OnStart::apply: {
                auto r = m.up(std::nullopt);
                if (!r.ok()) {
                    std::string text;
                    for (const auto& b : r.blockers) text += "refused: " + b + "\n";
                    if (r.failure) text += to_text(*r.failure);
                    say(text);
                    return 1;
                }
                say("applied " + std::to_string(r.done.size()) + " migration(s); current version " +
                    (r.current_version.empty() ? "none" : r.current_version));
                return 0;
            }
        }
    } catch (const std::exception& e) {
        log::error("migrate", "startup migrations failed", {{"error", std::string(e.what())}});
        say(e.what());
        return 1;
    }
    return 1;
}

}  // namespace steward::migrate
