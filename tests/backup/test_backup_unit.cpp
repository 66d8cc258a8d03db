// Backup engine units: stream stages (zstd, secretstream, hashing), manifests, ids and folder names.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <random>

#include "backup/manifest.hpp"
#include "backup/restore_io.hpp"
#include "backup/stream.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace steward::backup;

namespace {

class StringSink : public Sink {
  public:
    void write(const std::uint8_t* d, std::size_t n) override {
        text.append(reinterpret_cast<const char*>(d), n);
    }
    void finish() override { finished = true; }
    std::string text;
    bool finished = false;
};

std::string random_text(std::size_t n, unsigned seed, bool compressible) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = compressible ? static_cast<char>('a' + rng() % 4) : static_cast<char>(rng());
    return s;
}

void feed(Sink& s, const std::string& data, std::size_t piece = 7777) {
    for (std::size_t i = 0; i < data.size(); i += piece)
        s.write(reinterpret_cast<const std::uint8_t*>(data.data()) + i, std::min(piece, data.size() - i));
    s.finish();
}

std::string encode(const std::string& data, const Secret* key, bool zstd) {
    StringSink out;
    std::unique_ptr<Sink> enc, comp;
    Sink* head = &out;
    if (key) {
        enc = make_encryptor(*head, *key);
        head = enc.get();
    }
    if (zstd) {
        comp = make_zstd_compressor(*head, 3, 2);
        head = comp.get();
    }
    feed(*head, data);
    return out.text;
}

std::string decode(const std::string& data, const Secret* key, bool zstd) {
    StringSink out;
    std::unique_ptr<Sink> dec, comp;
    Sink* head = &out;
    if (zstd) {
        comp = make_zstd_decompressor(*head);
        head = comp.get();
    }
    if (key) {
        dec = make_decryptor(*head, *key, "", false);  // the unbound format: see test_backup_trust
        head = dec.get();
    }
    feed(*head, data, 100000);
    EXPECT_TRUE(out.finished);
    return out.text;
}

}  // namespace

TEST(BackupStream, ZstdRoundTripShrinksCompressibleData) {
    auto data = random_text(3 << 20, 1, true);
    auto z = encode(data, nullptr, true);
    EXPECT_LT(z.size(), data.size() / 2);
    EXPECT_EQ(decode(z, nullptr, true), data);
}

TEST(BackupStream, ZstdTruncatedStreamFails) {
    auto z = encode(random_text(1 << 20, 2, false), nullptr, true);
    EXPECT_THROW(decode(z.substr(0, z.size() / 2), nullptr, true), StreamError);
    EXPECT_THROW(decode(z.substr(0, z.size() - 1), nullptr, true), StreamError);
}

TEST(BackupStream, EncryptionRoundTripsAcrossChunkBoundaries) {
    Secret key("k3y");
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1} << 20, (std::size_t{1} << 20) + 1,
                          (std::size_t{5} << 20) / 2}) {
        auto data = random_text(n, 3, false);
        auto c = encode(data, &key, false);
        EXPECT_EQ(c.rfind("STWDENC1", 0), 0u);
        EXPECT_EQ(decode(c, &key, false), data) << n;
    }
}

TEST(BackupStream, EncryptionWithZstdRoundTrips) {
    Secret key("another key");
    auto data = random_text(4 << 20, 4, true);
    auto c = encode(data, &key, true);
    EXPECT_LT(c.size(), data.size() / 2);
    EXPECT_EQ(decode(c, &key, true), data);
}

TEST(BackupStream, WrongKeyTamperingAndTruncationFail) {
    Secret key("right"), wrong("wrong");
    auto data = random_text((3 << 20) + 5, 5, false);
    auto c = encode(data, &key, false);
    EXPECT_THROW(decode(c, &wrong, false), StreamError);
    auto flipped = c;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_THROW(decode(flipped, &key, false), StreamError);
    // Cut exactly after a whole chunk: only the missing final tag reveals it.
    std::size_t head = 8 + 24, frame = (1u << 20) + 17;
    EXPECT_THROW(decode(c.substr(0, head + 2 * frame), &key, false), StreamError);
    EXPECT_THROW(decode(c.substr(0, c.size() - 3), &key, false), StreamError);
    EXPECT_THROW(decode(c + "x", &key, false), StreamError);
    EXPECT_THROW(decode("not encrypted at all, long enough to have a header", &key, false), StreamError);
}

TEST(BackupStream, FileSinkHashesFsyncsAndRefusesToOverwrite) {
    test::TempDir dir("bk-unit");
    auto p = dir / "f";
    {
        FileSink f(p);
        feed(f, "abc");
        EXPECT_EQ(f.bytes(), 3u);
        EXPECT_EQ(f.sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    EXPECT_EQ(digest_file(p).sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_THROW(FileSink{p}, StreamError);
}

// Found by fuzz_manifest: a folder named with year 0026 overflowed system_clock's nanoseconds (UBSan).
TEST(BackupManifest, TimesOutsideTheClocksRangeAndNegativeFieldsAreNotBackupTimes) {
    EXPECT_FALSE(parse_backup_id("chat-00261123T114303Z"));
    EXPECT_FALSE(parse_backup_id("chat-99991123T114303Z"));
    EXPECT_EQ(classify_entry("chat-00261123T114303Z"), EntryKind::other);
    EXPECT_FALSE(parse_iso_utc("0026-11-23T11:43:03Z"));
    EXPECT_FALSE(parse_iso_utc("2026-11-23T-1:43:03Z"));
    EXPECT_FALSE(parse_iso_utc("2026-11-23T11:-3:03Z"));
    EXPECT_TRUE(parse_iso_utc("2199-12-31T23:59:59Z"));
}

// Found by fuzz_manifest: a size of 1e82 was converted to an integer (undefined; UBSan).
TEST(BackupManifest, ASizeBeyondAnIntegerIsRefused) {
    auto doc =
        boost::json::parse(R"({"steward_backup": 1, "id": "chat-20261123T114303Z", "raw_bytes": 1e82})");
    EXPECT_THROW(manifest_from_json(doc), std::runtime_error);
    auto ok =
        boost::json::parse(R"({"steward_backup": 1, "id": "chat-20261123T114303Z", "raw_bytes": 1234.0})");
    EXPECT_EQ(manifest_from_json(ok).raw_bytes, 1234u);
}

TEST(BackupManifest, IdsRoundTripAndClassifyFolders) {
    auto t = parse_iso_utc("2026-03-29T01:30:05Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(make_backup_id("chat-prod", *t), "chat-prod-20260329T013005Z");
    EXPECT_EQ(parse_backup_id("chat-prod-20260329T013005Z"), t);
    EXPECT_FALSE(parse_backup_id("chat-prod-20260329T013005"));
    EXPECT_FALSE(parse_backup_id("20260329T013005Z"));
    EXPECT_FALSE(parse_backup_id("chat-20261329T013005Z"));
    EXPECT_FALSE(parse_backup_id("../chat-20260329T013005Z"));
    EXPECT_EQ(classify_entry("../../etc/chat-20260329T013005Z"), EntryKind::other);
    EXPECT_EQ(iso_utc(*t), "2026-03-29T01:30:05Z");
    EXPECT_EQ(classify_entry("chat-20260329T013005Z"), EntryKind::published);
    EXPECT_EQ(classify_entry("chat-20260329T013005Z.partial"), EntryKind::partial);
    EXPECT_EQ(classify_entry("chat-20260329T013005Z.failed"), EntryKind::failed);
    EXPECT_EQ(classify_entry("notes.partial"), EntryKind::other);
    EXPECT_EQ(classify_entry(".lock"), EntryKind::other);
    EXPECT_EQ(classify_entry("lost+found"), EntryKind::other);
}

TEST(BackupManifest, JsonRoundTripAndFolderWrite) {
    BackupManifest m;
    m.id = "chat-20260101T000000Z";
    m.deployment = "chat";
    m.database = "chat";
    m.format = "custom";
    m.compression = "zstd:3";
    m.files = {{"dump", 123, std::string(64, 'a')}, {"globals.sql", 7, std::string(64, 'b')}};
    m.verification = {"restore", true, "2026-01-01T00:00:05Z", 1.5, ""};
    m.row_counts = {{"public.users", 42}};
    auto back = manifest_from_json(to_json(m));
    EXPECT_EQ(back.id, m.id);
    EXPECT_EQ(back.bytes(), 130u);
    EXPECT_EQ(back.dump_sha256(), std::string(64, 'a'));
    EXPECT_TRUE(back.verification.ok);
    EXPECT_EQ(back.row_counts.at("public.users"), 42);
    EXPECT_THROW(manifest_from_json(boost::json::parse(R"({"id": "x"})")), std::runtime_error);

    test::TempDir dir("bk-manifest");
    write_manifest(dir.path(), m);
    write_manifest(dir.path(), m);  // replaces
    EXPECT_EQ(read_manifest(dir.path()).files.size(), 2u);
    EXPECT_FALSE(std::filesystem::exists(dir / "manifest.json.tmp"));
}

TEST(BackupManifest, DirectoryFormatHashCoversAllFiles) {
    BackupManifest a, b;
    a.files = {{"dump/toc.dat", 1, "11"}, {"dump/3001.dat.gz", 2, "22"}};
    b.files = {{"dump/3001.dat.gz", 2, "22"}, {"dump/toc.dat", 1, "11"}};
    EXPECT_EQ(a.dump_sha256(), b.dump_sha256());
    b.files[0].sha256 = "23";
    EXPECT_NE(a.dump_sha256(), b.dump_sha256());
}

namespace {
void touch(const std::filesystem::path& p, const std::string& text = "x") {
    std::filesystem::create_directories(p.parent_path());
    FileSink f(p);
    feed(f, text);
}
}  // namespace

// A killed restore or verify leaves decoded (decrypted) copies in a scratch folder: the next run
// removes them, but never a live run's folder, and never anything that is not a scratch folder.
TEST(BackupScratch, LeftoversOfKilledRunsAreRemovedLiveOnesKept) {
    test::TempDir dir("bk-scratch");
    const std::string id = "chat-20260101T020000Z", live_id = "chat-20260102T020000Z";
    auto dead_restore = restore_scratch_path(dir.path(), id);
    auto dead_verify = verify_scratch_path(dir.path(), id);
    EXPECT_EQ(dead_restore.filename().string(), ".restore-chat-20260101T020000Z.tmp");
    EXPECT_EQ(dead_verify.filename().string(), ".chat-20260101T020000Z.verify-tmp");
    touch(dead_restore / "dump", "plaintext rows");
    touch(dead_verify / "toc.dat", "plaintext rows");
    touch(dir / ".restore-not-a-backup.tmp" / "keep");
    touch(dir / id / "manifest.json");
    std::optional<ScratchDir> live;
    live.emplace(verify_scratch_path(dir.path(), live_id));
    touch(live->path() / "toc.dat");
    EXPECT_EQ(std::filesystem::status(live->path()).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);

    remove_scratch_leftovers(dir.path());
    EXPECT_FALSE(std::filesystem::exists(dead_restore));
    EXPECT_FALSE(std::filesystem::exists(dead_verify));
    EXPECT_TRUE(std::filesystem::exists(live->path() / "toc.dat"));
    EXPECT_TRUE(std::filesystem::exists(dir / ".restore-not-a-backup.tmp" / "keep"));
    EXPECT_TRUE(std::filesystem::exists(dir / id / "manifest.json"));

    // A second run for the same backup does not wipe the live run's copy; once that run ends, it may.
    EXPECT_THROW(ScratchDir{live->path()}, StreamError);
    EXPECT_TRUE(std::filesystem::exists(live->path() / "toc.dat"));
    auto path = live->path();
    live.reset();
    EXPECT_FALSE(std::filesystem::exists(path));
    touch(path / "toc.dat");  // as a killed run leaves it
    ScratchDir again(path);
    EXPECT_TRUE(std::filesystem::is_empty(again.path()));
}

// The tools' password reaches them in an inherited 0600 file in libpq's format, not in their environment.
TEST(ToolPassword, ChildReadsAnEscapedPasswordFileItInherits) {
    ToolEnv env{{{"PATH", "/usr/bin:/bin"}}, std::make_shared<PassFile>("pa:ss\\word canary")};
    ProcessOptions o;
    o.argv = {"sh", "-c", "stat -L -c %a \"$PGPASSFILE\"; cat \"$PGPASSFILE\"; echo ---; env"};
    env.apply(o);
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(o, std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.err;
    auto env_at = r.out.find("---\n");
    EXPECT_EQ(r.out.substr(0, env_at), "600\n*:*:*:*:pa\\:ss\\\\word canary\n");
    EXPECT_EQ(r.out.find("canary", env_at), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PGPASSFILE=/proc/self/fd/", env_at), std::string::npos) << r.out;
    EXPECT_FALSE(o.inherit_env);
}

TEST(ToolPassword, NoPasswordNoFileAndLineBreaksRefused) {
    ProcessOptions o;
    tool_env_without_password().apply(o);
    EXPECT_EQ(o.env.count("PGPASSFILE"), 0u);
    EXPECT_TRUE(o.inherit_fds.empty());
    EXPECT_THROW(PassFile("two\nlines"), std::runtime_error);
}
