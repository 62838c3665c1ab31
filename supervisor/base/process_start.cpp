#include "base/process_start.h"

#include <cstdlib>
#include <string>

#include "base/file_io.h"

namespace sandboxd {

uint64_t process_start_time(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return 0;
    // comm (field 2) may hold spaces and parentheses: count from the last ')'.
    size_t close = stat->rfind(')');
    if (close == std::string::npos) return 0;
    size_t pos = close + 2;
    for (int field = 3; field < 22 && pos < stat->size(); ++field) {
        pos = stat->find(' ', pos);
        if (pos == std::string::npos) return 0;
        ++pos;
    }
    return std::strtoull(stat->c_str() + pos, nullptr, 10);
}

}  // namespace sandboxd
