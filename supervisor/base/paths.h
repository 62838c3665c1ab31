// Lexical path handling for profile scopes. Scopes are compared as strings
// only to report and merge them; enforcement always goes through the kernel
// on opened objects, never on these strings.
#pragma once

#include <deque>
#include <string>
#include <string_view>

namespace sandboxd {

// Collapses "//", "/./" and "/../" without touching the filesystem. Requires
// an absolute path; ".." above "/" stays at "/".
std::string normalize_path(std::string_view absolute);

// True when child equals parent or lies beneath it ("/a/b" is under "/a",
// "/ab" is not).
bool path_is_under(std::string_view child, std::string_view parent);

// Puts the components of `path` ("a//b/" is a, b) at the front of `todo`,
// in order: what a walk that resolves symbolic links by hand does with a
// link's target.
void push_front_components(std::deque<std::string>& todo, std::string_view path);

}  // namespace sandboxd
