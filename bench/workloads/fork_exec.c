/* (e) N fork+exec of /bin/true, one after the other. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000;
    for (long i = 0; i < n; ++i) {
        pid_t p = fork();
        if (p == 0) {
            execl("/bin/true", "true", (char*)0);
            _exit(127);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    }
    return 0;
}
