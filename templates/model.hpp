// The Mustache data a spec gives the templates: names, ports, paths and secret references, never secret
// values.
#pragma once

#include <kainjow/mustache.hpp>

#include "templates/render.hpp"

namespace steward::templates {

kainjow::mustache::data build_model(const Spec& spec, const RenderInputs& inputs);

// The spec steward's container runs on compose or Kubernetes: the file without `services:`. Throws
// RenderError for an inline secret or a literal database password, which must not leave the host.
std::string platform_spec(const Spec& spec);

}  // namespace steward::templates
