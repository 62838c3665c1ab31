// Feeds arbitrary bytes to the profile parser and the network entry parser:
// any input must give a value or an error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "profile/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto spec = sandboxd::parse_profile(text, "fuzz.toml");
    if (spec.ok() && spec->name) (void)spec->name->value.size();
    (void)sandboxd::parse_net_rule(text.substr(0, 300));
    return 0;
}
