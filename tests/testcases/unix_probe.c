/* Connects to pathname unix sockets, or sends a datagram to one, and says
 * what happened: for each argument "stream:PATH" or "dgram:PATH" a line
 * "PATH ok" or "PATH errno=NAME", then "probe-done". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        int dgram = strncmp(argv[i], "dgram:", 6) == 0;
        const char* path = strchr(argv[i], ':') + 1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        int fd = socket(AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
        int rc = fd < 0 ? -1
                 : dgram ? (int)sendto(fd, "x", 1, 0, (struct sockaddr*)&sa, sizeof sa)
                         : connect(fd, (struct sockaddr*)&sa, sizeof sa);
        if (rc >= 0) printf("%s ok\n", argv[i]);
        else printf("%s errno=%s\n", argv[i], strerrorname_np(errno));
        if (fd >= 0) close(fd);
    }
    printf("probe-done\n");
    return 0;
}
