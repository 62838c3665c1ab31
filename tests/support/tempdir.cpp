#include "tempdir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace sandboxd::test {

TempDir::TempDir(const char* prefix, const char* base) {
    std::string tmpl = std::string(base) + "/" + prefix + ".XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ + "/" + name) << content;
}

}  // namespace sandboxd::test
