// steward's entry point: everything else is in the libraries it composes.
#include "daemon/cli.hpp"

int main(int argc, char** argv) { return steward::cli::run(argc, argv); }
