// Path handling for profile scopes, lexical but for with_real_directories.
// Scopes are compared as strings only to report and merge them;
// enforcement always goes through the kernel on opened objects, never on
// these strings.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sandboxd {

// Collapses "//", "/./" and "/../" without touching the filesystem. Requires
// an absolute path; ".." above "/" stays at "/".
std::string normalize_path(std::string_view absolute);

// True when child equals parent or lies beneath it ("/a/b" is under "/a",
// "/ab" is not).
bool path_is_under(std::string_view child, std::string_view parent);

// The directory an absolute path is in ("/a/b" -> "/a", "/a" -> "/"), and
// its last component ("/a/b" -> "b").
std::string parent_path(std::string_view path);
std::string last_component(std::string_view path);
// `name` in the directory `dir` ("/" and "a" -> "/a"); `dir` itself when
// `name` is empty.
std::string join_path(std::string_view dir, std::string_view name);

// Puts the components of `path` ("a//b/" is a, b) at the front of `todo`,
// in order: what a walk that resolves symbolic links by hand does with a
// link's target.
void push_front_components(std::deque<std::string>& todo, std::string_view path);

// `path` with the longest part of its directory that exists resolved
// (symlinks followed), the rest as it was; the last component is never
// followed. How protected and hidden paths are compared with the trees.
std::string with_real_directories(const std::string& path);

// The working directory as the user reached it: $PWD where it names the
// same directory as "." with no "." or ".." in it (what the shell kept:
// the links the user went through); an error where $PWD names another
// (a launcher changed the directory); getcwd()'s, which has no link, only
// without $PWD. A relative workspace is judged by the path the user
// meant: through a link an agent made, getcwd() would only show where it
// leads.
Result<std::string> logical_cwd();

}  // namespace sandboxd
