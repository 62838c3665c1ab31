# Generates a C++ source holding every profiles/*.toml as a string, so the
# binaries carry the shipped profiles. Run as: cmake -DSRC=dir -DOUT=file -P
file(GLOB files "${SRC}/*.toml")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" text)
  string(APPEND body "    {\"${name}\", R\"sandboxd_profile(${text})sandboxd_profile\"},\n")
endforeach()
file(WRITE "${OUT}.new" "// Generated from profiles/*.toml by embed_profiles.cmake; do not edit.\n#include \"profile/builtin_profiles.h\"\n\nnamespace sandboxd {\nnamespace {\nconstexpr BuiltinProfile kProfiles[] = {\n${body}};\n}  // namespace\n\nstd::span<const BuiltinProfile> builtin_profiles() { return kProfiles; }\n\n}  // namespace sandboxd\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.new" "${OUT}")
file(REMOVE "${OUT}.new")
