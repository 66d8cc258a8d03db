// Finds the templates, fills them with the spec's model, and writes the results only when they change.

#include "templates/render.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "templates/model.hpp"

namespace steward::templates {
namespace {

namespace fs = std::filesystem;
using kainjow::mustache::mustache;

constexpr const char* kSuffix = ".mustache";

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw RenderError("cannot read template " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Template files of one target: relative output path -> template file; overrides replace by name.
void collect(const fs::path& root, const std::string& target, std::map<std::string, fs::path>& out) {
    std::error_code ec;
    fs::path dir = root / target;
    if (!fs::is_directory(dir, ec)) return;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string name = it->path().filename().string();
        if (name.size() <= std::string(kSuffix).size() || !name.ends_with(kSuffix)) continue;
        std::string rel = fs::relative(it->path(), root, ec).string();
        out[rel.substr(0, rel.size() - std::string(kSuffix).size())] = it->path();
    }
}

// YAML files get every {{value}} as a quoted string, so no spec value can add keys; the line-based
// formats (systemd, nginx, env) refuse a value that would start a new line or directive.
std::string yaml_quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string plain(const std::string& s, const std::string& file) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f || c == ';' || c == '{' || c == '}')
            throw RenderError(file +
                              ": a spec value holds a control character, ';' or a brace and cannot be "
                              "written into this file safely");
    return s;
}

// Mustache's standalone rule, which kainjow applies only in part: a line holding only a section tag
// leaves no line behind. kainjow also drops an empty line that follows such a tag, so a kKeep mark
// holds it (removed after rendering).
constexpr char kKeep = '\x01';
std::string strip_standalone_tags(const std::string& text) {
    static const std::regex kStandalone(R"(^[ \t]*(\{\{[#^/!][^}]*\}\})[ \t]*$)");
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(text.substr(start, nl - start));
    std::string tail = text.substr(start);
    std::string out;
    std::smatch m;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (std::regex_match(lines[i], m, kStandalone)) {
            out += m[1].str();
            if (i + 1 < lines.size() && lines[i + 1].empty()) out += kKeep;
        } else {
            out += lines[i] + '\n';
        }
    }
    return out + tail;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// A template's path may name spec values ("nginx/{{name}}.conf"); the result stays inside --out.
std::string output_path(const std::string& rel, const kainjow::mustache::data& model) {
    mustache tmpl(rel);
    tmpl.set_custom_escape([&rel](const std::string& s) { return plain(s, rel); });
    std::string path = tmpl.is_valid() ? tmpl.render(model) : "";
    fs::path p(path);
    bool inside = !path.empty() && p.is_relative();
    for (const auto& part : p) inside = inside && part != ".." && part != ".";
    if (!inside) throw RenderError("template " + rel + " names no path inside --out");
    return path;
}

}  // namespace

std::vector<RenderedFile> render(const Spec& spec, const RenderInputs& inputs) {
    for (const auto& t : inputs.only)
        if (std::find(std::begin(kTargets), std::end(kTargets), t) == std::end(kTargets))
            throw RenderError("unknown target '" + t +
                              "' (targets: systemd, nginx, compose, k8s, prometheus, env)");
    auto model = build_model(spec, inputs);
    auto wanted = [&](const char* t) { return inputs.only.empty() || inputs.only.count(t) > 0; };
    if (wanted("compose") || wanted("k8s")) {
        std::string text = platform_spec(spec), indented;
        for (std::size_t start = 0, nl; start < text.size(); start = nl + 1) {
            nl = text.find('\n', start);
            if (nl == std::string::npos) nl = text.size();
            indented += "    " + text.substr(start, nl - start) + "\n";
        }
        model.set("platform_spec", text);
        model.set("platform_spec_indented", indented);
    }
    std::vector<RenderedFile> out;
    for (const char* target : kTargets) {
        if (!inputs.only.empty() && !inputs.only.count(target)) continue;
        std::map<std::string, fs::path> files;
        collect(inputs.templates, target, files);
        if (inputs.overrides) collect(*inputs.overrides, target, files);
        for (const auto& [rel, file] : files) {
            mustache tmpl(strip_standalone_tags(read_text(file)));
            if (!tmpl.is_valid()) throw RenderError(file.string() + ": " + tmpl.error_message());
            bool yaml = rel.ends_with(".yml") || rel.ends_with(".yaml");
            std::string name = rel;
            tmpl.set_custom_escape(
                [yaml, name](const std::string& s) { return yaml ? yaml_quote(s) : plain(s, name); });
            std::string text = tmpl.render(model);
            if (!tmpl.is_valid()) throw RenderError(file.string() + ": " + tmpl.error_message());
            text.erase(std::remove(text.begin(), text.end(), kKeep), text.end());
            if (blank(text)) continue;
            out.push_back({output_path(rel, model), text});
        }
    }
    return out;
}

std::vector<WriteOutcome> write_rendered(const fs::path& out, const std::vector<RenderedFile>& files) {
    std::vector<WriteOutcome> result;
    for (const auto& f : files) {
        fs::path target = out / f.path;
        std::error_code ec;
        if (fs::is_regular_file(target, ec)) {
            std::ifstream in(target, std::ios::binary);
            std::ostringstream s;
            s << in.rdbuf();
            if (in && s.str() == f.content) {
                result.push_back({f.path, false});
                continue;
            }
        }
        fs::create_directories(target.parent_path(), ec);
        if (ec) throw RenderError("cannot create " + target.parent_path().string() + ": " + ec.message());
        // A temporary name and a rename: a reader never sees half a file.
        fs::path tmp = target;
        tmp += ".tmp";
        {
            std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
            o << f.content;
            o.flush();
            if (!o) throw RenderError("cannot write " + tmp.string());
        }
        fs::permissions(tmp, fs::perms(0644), ec);
        fs::rename(tmp, target, ec);
        if (ec) throw RenderError("cannot write " + target.string() + ": " + ec.message());
        result.push_back({f.path, true});
    }
    return result;
}

}  // namespace steward::templates
