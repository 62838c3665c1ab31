// Bytes as lowercase hex, for binary values in JSON (journal lines: old
// extended attribute values in undo records).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sandboxd {

std::string to_hex(std::string_view bytes);
// nullopt unless `hex` is an even number of lowercase hex digits.
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace sandboxd
