// The spec steward's own container runs on a platform (compose, Kubernetes): the user's file without
// `services:`, since the platform runs the app and steward must not start it a second time.
#include <yaml-cpp/yaml.h>

#include "templates/model.hpp"

namespace steward::templates {

std::string platform_spec(const Spec& spec) {
    for (const auto& s : spec.secrets)
        if (s.source == SecretSpec::Source::value)
            throw RenderError("secrets." + s.name +
                              " is inline (value:): a secret in the spec cannot go into a container's spec; "
                              "use env:, file: or credential:");
    YAML::Node root;
    try {
        root = YAML::LoadFile(spec.file.string());
    } catch (const std::exception& e) {
        throw RenderError("cannot read " + spec.file.string() + ": " + e.what());
    }
    if (root["database"] && root["database"]["url"] && root["database"]["url"].IsScalar()) {
        // A literal URL may carry a password; only a ${VAR} reference may leave the host.
        std::string url = root["database"]["url"].as<std::string>();
        auto at = url.find('@');
        auto scheme = url.find("://");
        if (at != std::string::npos && scheme != std::string::npos &&
            url.substr(scheme + 3, at - scheme - 3).find(':') != std::string::npos &&
            url.find("${") == std::string::npos)
            throw RenderError(
                "database.url holds a password: write it as ${DATABASE_URL} for a container's spec");
    }
    root.remove("services");
    YAML::Emitter out;
    out << root;
    return std::string("# Written by `steward render` from ") + spec.file.filename().string() +
           " without services: the platform runs the app.\n" + out.c_str() + "\n";
}

}  // namespace steward::templates
