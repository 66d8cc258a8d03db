// The Mustache data a spec gives the templates: names, ports, paths and secret references, never secret
// values.
#pragma once

#include <kainjow/mustache.hpp>

#include "templates/render.hpp"

namespace steward::templates {

kainjow::mustache::data build_model(const Spec& spec, const RenderInputs& inputs);

}  // namespace steward::templates
