// What a backup must prove before it is used, without servers: the manifest's list of files (every shape a
// hostile manifest can take), its MAC, the binding of encrypted files, globals.sql's meta-commands, ids.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "backup/backup_files.hpp"
#include "backup/internal.hpp"
#include "backup/manifest.hpp"
#include "backup/stream.hpp"

using namespace steward;
using namespace steward::backup;

namespace {

class StringSink : public Sink {
  public:
    void write(const std::uint8_t* d, std::size_t n) override {
        text.append(reinterpret_cast<const char*>(d), n);
    }
    void finish() override {}
    std::string text;
};

std::string encrypt(const std::string& data, const Secret& key, const std::string& binding) {
    StringSink out;
    auto e = make_encryptor(out, key, binding);
    e->write(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    e->finish();
    return out.text;
}

std::string decrypt(const std::string& data, const Secret& key, const std::string& binding, bool bound) {
    StringSink out;
    auto d = make_decryptor(out, key, binding, bound);
    d->write(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    d->finish();
    return out.text;
}

BackupManifest manifest(const std::string& format, std::vector<std::string> paths) {
    BackupManifest m;
    m.id = "chat-20260101T000000Z";
    m.format = format;
    m.compression = "none";
    for (auto& p : paths) m.files.push_back({p, 1, std::string(64, 'a')});
    return m;
}

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
    for (const auto& p : problems)
        if (p.find(what) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(BackupLayout, WhatStewardWritesPasses) {
    EXPECT_EQ(layout_problems(manifest("custom", {"dump", "globals.sql"})), std::vector<std::string>{});
    EXPECT_EQ(layout_problems(manifest("directory", {"dump/toc.dat", "dump/3001.dat.gz", "globals.sql"})),
              std::vector<std::string>{});
}

// Every shape of a path that leaves the folder, in both formats.
TEST(BackupLayout, PathsOutsideTheFolderAreRefusedInEveryShape) {
    for (const std::string format : {"custom", "directory"}) {
        std::string dump = format == "custom" ? "dump" : "dump/toc.dat";
        for (const std::string bad : {"../../etc/passwd", "/etc/passwd", "..", "dump/../../x", "dump/..",
                                      "../dump", "dump/../globals.sql", "/", ""}) {
            auto problems = layout_problems(manifest(format, {dump, "globals.sql", bad}));
            EXPECT_TRUE(mentions(problems, "leaves the backup folder")) << format << " '" << bad << "'";
        }
        for (const std::string& odd :
             std::vector<std::string>{"dump/x/y", "./dump", "dump/.", "manifest.json", "dump.sql",
                                      "dump//toc.dat", std::string("dump/a\0b", 8), "globals.sql/x"}) {
            auto problems = layout_problems(manifest(format, {dump, "globals.sql", odd}));
            EXPECT_FALSE(problems.empty()) << format << " '" << odd << "'";
        }
    }
    // A custom backup has no dump/ folder; a directory backup has no single dump file.
    EXPECT_FALSE(layout_problems(manifest("custom", {"dump", "globals.sql", "dump/toc.dat"})).empty());
    EXPECT_FALSE(layout_problems(manifest("directory", {"dump/toc.dat", "globals.sql", "dump"})).empty());
}

TEST(BackupLayout, RequiredFilesMustBeListedOnce) {
    EXPECT_TRUE(mentions(layout_problems(manifest("custom", {"globals.sql"})), "no dump"));
    EXPECT_TRUE(mentions(layout_problems(manifest("custom", {"dump"})), "no globals.sql"));
    EXPECT_TRUE(mentions(layout_problems(manifest("directory", {"dump/3001.dat", "globals.sql"})),
                         "no dump/toc.dat"));
    EXPECT_TRUE(mentions(layout_problems(manifest("custom", {})), "no dump"));
    EXPECT_TRUE(
        mentions(layout_problems(manifest("custom", {"dump", "dump", "globals.sql"})), "listed twice"));
    EXPECT_TRUE(mentions(layout_problems(manifest("tar", {"dump", "globals.sql"})), "unknown format"));
    auto m = manifest("custom", {"dump", "globals.sql"});
    m.encryption = "rot13";
    EXPECT_TRUE(mentions(layout_problems(m), "unknown encryption"));
}

TEST(BackupBinding, AFileDecryptsOnlyAsItsOwnBackupAndPath) {
    Secret key("a key of some length for the test");
    auto here = file_binding("chat-20260101T000000Z", "dump");
    auto c = encrypt("rows of the database", key, here);
    EXPECT_EQ(c.rfind("STWDENC2", 0), 0u);
    EXPECT_EQ(decrypt(c, key, here, true), "rows of the database");
    for (const auto& elsewhere :
         {file_binding("chat-20251201T000000Z", "dump"), file_binding("chat-20260101T000000Z", "globals.sql"),
          file_binding("chat-20260101T000000Z", "dump/toc.dat")})
        EXPECT_THROW(decrypt(c, key, elsewhere, true), StreamError);
    // A bound file in a backup whose manifest lost its MAC, and an older unbound file in an authenticated
    // one.
    EXPECT_THROW(decrypt(c, key, here, false), StreamError);
    auto old = encrypt("rows of the database", key, "");
    EXPECT_EQ(old.rfind("STWDENC1", 0), 0u);
    EXPECT_THROW(decrypt(old, key, here, true), StreamError);
    EXPECT_EQ(decrypt(old, key, here, false), "rows of the database");
}

TEST(BackupMac, EveryFieldThatMattersIsAuthenticated) {
    Secret key("backup key 0123456789abcdef0123456789");
    auto m = manifest("custom", {"dump", "globals.sql"});
    m.encryption = kEncryptionScheme;
    m.database = "chat";
    m.row_counts = {{"public.users", 3}};
    m.mac = manifest_mac(key, authenticated_text(m));
    EXPECT_TRUE(check_manifest_trust(m, key).problems.empty());
    EXPECT_TRUE(check_manifest_trust(m, key).warnings.empty());
    // Through manifest.json and back: the MAC still holds.
    auto back = manifest_from_json(boost::json::parse(boost::json::serialize(to_json(m))));
    EXPECT_EQ(back.mac, m.mac);
    EXPECT_TRUE(check_manifest_trust(back, key).problems.empty());

    std::vector<std::function<void(BackupManifest&)>> edits{
        [](BackupManifest& x) { x.id = "chat-20990101T000000Z"; },
        [](BackupManifest& x) { x.files[0].sha256 = std::string(64, 'b'); },
        [](BackupManifest& x) { x.files[0].bytes = 2; },
        [](BackupManifest& x) { x.files[0].path = "globals.sql"; },
        [](BackupManifest& x) { x.files.pop_back(); },
        [](BackupManifest& x) { x.format = "directory"; },
        [](BackupManifest& x) { x.compression = "zstd:3"; },
        [](BackupManifest& x) { x.encryption = "none"; },
        [](BackupManifest& x) { x.finished = "2030-01-01T00:00:00Z"; },
        [](BackupManifest& x) { x.row_counts["public.users"] = 4; },
        [](BackupManifest& x) { x.verification.ok = true; },
        [](BackupManifest& x) { x.database = "other"; },
    };
    for (std::size_t i = 0; i < edits.size(); ++i) {
        auto t = m;
        edits[i](t);
        EXPECT_FALSE(check_manifest_trust(t, key).problems.empty()) << "edit " << i;
    }
    EXPECT_FALSE(check_manifest_trust(m, Secret("another key 0123456789abcdef0123")).problems.empty());
    EXPECT_FALSE(check_manifest_trust(m, std::nullopt).problems.empty());
    // Made before manifests carried a MAC: usable, with a warning.
    auto legacy = m;
    legacy.mac.clear();
    auto t = check_manifest_trust(legacy, key);
    EXPECT_TRUE(t.problems.empty());
    ASSERT_EQ(t.warnings.size(), 1u);
    EXPECT_NE(t.warnings[0].find("unauthenticated"), std::string::npos);
}

TEST(BackupGlobals, OnlyPgDumpallsRestrictLinesAreAccepted) {
    std::string problem;
    auto st = globals_statements(
        "--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict AbC123xyz\n\nSET "
        "default_transaction_read_only = off;\n"
        "CREATE ROLE app;\nALTER ROLE app WITH LOGIN;\nCOMMENT ON ROLE app IS 'a \\! b; \\\\ "
        "c';\n\n\\unrestrict AbC123xyz\n",
        problem);
    EXPECT_EQ(problem, "");
    ASSERT_EQ(st.size(), 4u);
    EXPECT_EQ(st[1], "CREATE ROLE app;");
    EXPECT_EQ(st[3], "COMMENT ON ROLE app IS 'a \\! b; \\\\ c';");
    for (const std::string bad :
         {"CREATE ROLE a;\n\\! id > /tmp/x\n", "\\i /etc/passwd\n", "SELECT 1 \\gexec\n", "\\restrict\n",
          "\\restrict key; rm -rf /\n", "  \\copy t from program 'id'\n", "CREATE ROLE a; \\restrict x\n",
          "\\unrestrict AbC\n\\o |id\n", "CREATE ROLE a;\n\\set x `id`\n", "SELECT 'unterminated;\n",
          "\\restrict AbC 123\n"}) {
        problem.clear();
        auto out = globals_statements(bad, problem);
        EXPECT_NE(problem, "") << bad;
        EXPECT_TRUE(out.empty()) << bad;
    }
}

TEST(BackupIds, PrefixIsOnePlainFolderName) {
    EXPECT_EQ(safe_id_prefix("chat"), "chat");
    EXPECT_EQ(safe_id_prefix("chat-prod_2.x"), "chat-prod_2.x");
    for (const std::string name :
         {"../../x", "/abs/x", "..", ".", ".hidden", "a/b", "a\\b", "a b", "x\ny", ""}) {
        auto p = safe_id_prefix(name);
        auto id = make_backup_id(p, std::chrono::system_clock::now());
        EXPECT_EQ(id.find('/'), std::string::npos) << name;
        EXPECT_NE(id[0], '.') << name;
        EXPECT_EQ(classify_entry(id), EntryKind::published) << name;
        EXPECT_EQ(std::filesystem::path(id).filename().string(), id) << name;
    }
}
