// steward's entry point: everything else is in the libraries it composes.
#include "core/process.hpp"
#include "daemon/cli.hpp"

int main(int argc, char** argv) {
    steward::disable_core_dumps();  // before any secret is read
    return steward::cli::run(argc, argv);
}
