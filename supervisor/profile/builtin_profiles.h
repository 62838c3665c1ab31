// The shipped profiles (profiles/*.toml), compiled in so that a fresh build
// works before anything is installed. Files on disk take precedence.
#pragma once

#include <span>
#include <string_view>

namespace sandboxd {

struct BuiltinProfile {
    std::string_view name;
    std::string_view text;
};

std::span<const BuiltinProfile> builtin_profiles();

}  // namespace sandboxd
