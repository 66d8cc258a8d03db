// A small lexer for PostgreSQL SQL text: enough to split statements the way psql does.
#include "core/sql_scanner.hpp"

#include <algorithm>
#include <cctype>

namespace steward::sql {
namespace {

bool is_ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool is_ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

// Length of a dollar-quote opener ("$$" or "$tag$") at `i`, or 0.
std::size_t dollar_tag_length(std::string_view s, std::size_t i) {
    std::size_t j = i + 1;
    if (j < s.size() && s[j] == '$') return 2;
    if (j >= s.size() || !is_ident_start(static_cast<unsigned char>(s[j]))) return 0;
    while (j < s.size() && s[j] != '$') {
        auto c = static_cast<unsigned char>(s[j]);
        if (!(std::isalnum(c) || c == '_' || c >= 0x80)) return 0;
        ++j;
    }
    return j < s.size() ? j - i + 1 : 0;
}

bool first_line_marked(std::string_view sql) {
    if (sql.substr(0, 3) == "\xEF\xBB\xBF") sql.remove_prefix(3);
    auto line = sql.substr(0, sql.find('\n'));
    auto pos = line.find_first_not_of(" \t");
    if (pos == std::string_view::npos || line.substr(pos, 2) != "--") return false;
    line.remove_prefix(pos + 2);
    pos = line.find_first_not_of(" \t");
    if (pos == std::string_view::npos) return false;
    line.remove_prefix(pos);
    auto starts = [&](std::string_view m) {
        return line.substr(0, m.size()) == m &&
               (line.size() == m.size() || std::isspace(static_cast<unsigned char>(line[m.size()])));
    };
    return starts("steward:no-transaction") || starts("morph:nontransactional");
}

bool is_create_routine(const std::vector<std::string>& w) {
    if (w.empty() || w[0] != "CREATE") return false;
    for (std::size_t i = 1; i < w.size() && i < 4; ++i)
        if (w[i] == "FUNCTION" || w[i] == "PROCEDURE") return true;
    return false;
}

bool has_word(const std::vector<std::string>& w, std::string_view word, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < w.size() && i < to; ++i)
        if (w[i] == word) return true;
    return false;
}

bool starts_with(const std::vector<std::string>& w, std::initializer_list<std::string_view> prefix) {
    if (w.size() < prefix.size()) return false;
    std::size_t i = 0;
    for (auto p : prefix)
        if (w[i++] != p) return false;
    return true;
}

// Statements PostgreSQL refuses inside a transaction block.
bool cannot_run_in_transaction(const std::vector<std::string>& w) {
    if (w.empty()) return false;
    if (starts_with(w, {"CREATE", "INDEX", "CONCURRENTLY"}) ||
        starts_with(w, {"CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"}) ||
        starts_with(w, {"DROP", "INDEX", "CONCURRENTLY"}))
        return true;
    if (w[0] == "REINDEX" && has_word(w, "CONCURRENTLY", 1, 6)) return true;
    if (w[0] == "VACUUM") return true;
    // REINDEX SCHEMA/DATABASE/SYSTEM and a bare CLUSTER work through many tables, one
    // transaction each; DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) commits in between.
    if (w[0] == "REINDEX") {
        for (std::size_t i = 1; i < w.size(); ++i) {  // the first kind word, after any (options)
            if (w[i] == "TABLE" || w[i] == "INDEX") break;
            if (w[i] == "SCHEMA" || w[i] == "DATABASE" || w[i] == "SYSTEM") return true;
        }
    }
    if (w[0] == "CLUSTER" &&
        std::all_of(w.begin() + 1, w.end(), [](const auto& x) { return x == "VERBOSE"; }))
        return true;
    if (starts_with(w, {"ALTER", "TABLE"}) && w.back() == "CONCURRENTLY" &&
        has_word(w, "DETACH", 2, w.size()))
        return true;
    if (starts_with(w, {"CREATE", "DATABASE"}) || starts_with(w, {"DROP", "DATABASE"})) return true;
    if (starts_with(w, {"CREATE", "TABLESPACE"}) || starts_with(w, {"DROP", "TABLESPACE"})) return true;
    if (starts_with(w, {"ALTER", "SYSTEM"}) || starts_with(w, {"DISCARD", "ALL"})) return true;
    if (starts_with(w, {"ALTER", "DATABASE"}) && has_word(w, "TABLESPACE", 2, 6)) return true;
    if (starts_with(w, {"CREATE", "SUBSCRIPTION"}) || starts_with(w, {"DROP", "SUBSCRIPTION"})) return true;
    if (starts_with(w, {"COMMIT", "PREPARED"}) || starts_with(w, {"ROLLBACK", "PREPARED"})) return true;
    return false;
}

bool is_transaction_control(const std::vector<std::string>& w) {
    if (w.empty()) return false;
    const auto& k = w[0];
    // ROLLBACK TO SAVEPOINT stays inside the transaction; COMMIT/ROLLBACK PREPARED need none.
    if ((k == "ROLLBACK" || k == "COMMIT") && w.size() > 1 && (w[1] == "TO" || w[1] == "PREPARED"))
        return false;
    return k == "BEGIN" || k == "COMMIT" || k == "ROLLBACK" || k == "END" || k == "ABORT" ||
           starts_with(w, {"START", "TRANSACTION"});
}

std::string join_words(const std::vector<std::string>& w) {
    std::string out;
    for (const auto& s : w) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

}  // namespace

ScanResult scan_sql(std::string_view s) {
    ScanResult r;
    r.marked_no_transaction = first_line_marked(s);
    const std::size_t n = s.size();
    std::size_t i = 0;
    if (s.substr(0, 3) == "\xEF\xBB\xBF") i = 3;

    bool in_statement = false;
    std::size_t stmt_begin = 0, last_token_end = 0;
    std::vector<std::string> words;  // the statement's first words, for classification
    int atomic_depth = 0;            // BEGIN ATOMIC ... END nesting inside CREATE FUNCTION/PROCEDURE
    std::size_t tokens = 0, atomic_token = 0;  // ATOMIC counts only as the token right after BEGIN
    int paren_depth = 0;                       // CREATE RULE ... DO (a; b) keeps its semicolons, as in psql

    auto token_at = [&](std::size_t pos) {
        ++tokens;
        if (!in_statement) {
            in_statement = true;
            stmt_begin = pos;
            words.clear();
            atomic_depth = 0;
            paren_depth = 0;
        }
    };
    auto finish = [&](std::size_t end) {
        if (!in_statement) return;
        Statement st{stmt_begin, end, join_words(words)};
        if (r.needs_no_transaction.empty() && cannot_run_in_transaction(words))
            r.needs_no_transaction = st.keywords;
        if (is_transaction_control(words)) r.own_transaction = true;
        r.statements.push_back(std::move(st));
        in_statement = false;
    };

    while (i < n) {
        const char c = s[i];
        const auto uc = static_cast<unsigned char>(c);
        if (std::isspace(uc)) {
            ++i;
            continue;
        }
        if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            auto nl = s.find('\n', i);
            i = nl == std::string_view::npos ? n : nl + 1;
            continue;
        }
        if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (i < n && depth > 0) {
                if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
                    --depth;
                    i += 2;
                } else {
                    ++i;
                }
            }
            if (depth > 0) r.unterminated = true;
            continue;
        }
        if (c == ';') {
            ++i;
            if (!in_statement) continue;  // an empty statement
            last_token_end = i;
            if (atomic_depth == 0 && paren_depth == 0) finish(i);
            continue;
        }
        if (c == '\\') {
            auto nl = s.find('\n', i);
            r.meta_commands.push_back({i, nl == std::string_view::npos ? n : nl});
        }
        token_at(i);
        if (c == '\'' || c == '"') {
            // E'...' strings take backslash escapes; the E was read as a word just before.
            bool backslash = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                             (i < 2 || !is_ident_char(static_cast<unsigned char>(s[i - 2])));
            ++i;
            bool closed = false;
            while (i < n) {
                if (backslash && s[i] == '\\') {
                    i += 2;
                    continue;
                }
                if (s[i] == c) {
                    if (i + 1 < n && s[i + 1] == c) {
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                ++i;
            }
            if (!closed) r.unterminated = true;
            last_token_end = std::min(i, n);
            continue;
        }
        if (c == '$') {
            if (auto len = dollar_tag_length(s, i); len > 0) {
                auto tag = s.substr(i, len);
                auto close = s.find(tag, i + len);
                if (close == std::string_view::npos) {
                    r.unterminated = true;
                    i = n;
                } else {
                    i = close + len;
                }
                last_token_end = i;
                continue;
            }
            ++i;
            while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;  // $1 parameter
            last_token_end = i;
            continue;
        }
        if (is_ident_start(uc)) {
            std::size_t j = i;
            while (j < n && is_ident_char(static_cast<unsigned char>(s[j]))) ++j;
            // E'..', B'..', X'..', U&'..': the word is a string prefix; the quote comes next.
            auto word = upper(s.substr(i, j - i));
            if (words.size() < 16) words.push_back(word);
            // Only BEGIN ATOMIC opens a body: "begin" alone may be a parameter name.
            if (is_create_routine(words)) {
                if (word == "ATOMIC" && tokens == atomic_token) {
                    ++atomic_depth;
                } else if (word == "CASE" && atomic_depth > 0) {
                    ++atomic_depth;
                } else if (word == "END" && atomic_depth > 0) {
                    --atomic_depth;
                }
            }
            if (word == "BEGIN") atomic_token = tokens + 1;
            i = j;
            last_token_end = i;
            continue;
        }
        if (c == '(') ++paren_depth;
        if (c == ')' && paren_depth > 0) --paren_depth;
        ++i;
        last_token_end = i;
    }
    finish(last_token_end);
    return r;
}

TextPosition position_of(std::string_view text, std::size_t byte_offset) {
    TextPosition p;
    byte_offset = std::min(byte_offset, text.size());
    for (std::size_t i = 0; i < byte_offset; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            ++p.line;
            p.column = 1;
        } else if ((c & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
            ++p.column;
        }
    }
    return p;
}

std::size_t byte_offset_of_char(std::string_view text, long char_position) {
    if (char_position <= 1) return 0;
    long chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            if (++chars == char_position) return i;
        }
    }
    return text.size();
}

}  // namespace steward::sql
