// Replays the committed fuzz corpora and crash inputs through every entry point (the sanitizer build's test).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"

namespace fs = std::filesystem;

namespace steward::fuzz {

static std::map<std::string, Entry>& targets() {
    static std::map<std::string, Entry> table;
    return table;
}

void register_target(const char* name, Entry entry) { targets()[name] = entry; }

}  // namespace steward::fuzz

namespace {

std::vector<fs::path> inputs_in(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::is_directory(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// Usage: steward_fuzz_replay FUZZ_DIR [TARGET...]. Every target must have a non-empty corpus; a crash aborts.
int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: steward_fuzz_replay FUZZ_DIR [TARGET...]\n";
        return 2;
    }
    fs::path root = argv[1];
    std::vector<std::string> wanted(argv + 2, argv + argc);
    int failures = 0;
    for (const auto& [name, entry] : steward::fuzz::targets()) {
        if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
        auto corpus = inputs_in(root / "corpus" / name);
        auto crashes = inputs_in(root / "crashes" / name);
        if (corpus.empty()) {
            std::cerr << name << ": no corpus in " << (root / "corpus" / name) << "\n";
            ++failures;
            continue;
        }
        for (const auto* list : {&corpus, &crashes})
            for (const auto& file : *list) {
                std::ifstream in(file, std::ios::binary);
                std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                std::cerr << name << ": " << file.filename().string() << "\n";  // names the input of a crash
                entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
            }
        std::cout << name << ": " << corpus.size() << " corpus and " << crashes.size()
                  << " crash inputs replayed\n";
    }
    for (const auto& name : wanted)
        if (!steward::fuzz::targets().count(name)) {
            std::cerr << "unknown fuzz target " << name << "\n";
            ++failures;
        }
    return failures == 0 ? 0 : 1;
}
