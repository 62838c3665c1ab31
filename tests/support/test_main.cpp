// Catch2 main shared by the test binaries. Privileged binaries exit 77
// (ctest: Skipped) with the reason when not run as root, so a missing
// privilege is visible instead of a silent pass.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
#ifdef SANDBOXD_PRIVILEGED_TESTS
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing && ::geteuid() != 0) {
        std::printf("SKIPPED: privileged tests need root (cgroups, setuid, seccomp sessions)\n");
        return 77;
    }
#endif
    // $PWD as a shell that cd-ed here would have it: ctest starts a test
    // elsewhere than where ctest itself was started, and sandbox-run
    // refuses a default workspace when $PWD names another directory.
    if (char cwd[4096]; ::getcwd(cwd, sizeof cwd)) ::setenv("PWD", cwd, 1);
    return Catch::Session().run(argc, argv);
}
