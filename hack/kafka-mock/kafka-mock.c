/*
 * kafka-mock: a Kafka-protocol cluster for development and tests, built on librdkafka's mock cluster.
 *
 * No Kafka broker can be installed on these machines (see ../../README.md); librdkafka ships a mock cluster
 * that speaks the real wire protocol. It lacks the CreateTopics API, so this program adds a line-oriented
 * control port on loopback:
 *   create <topic> <partitions>   pre-create a topic            -> "ok" | "error <msg>"
 *   down <brokerId> / up <brokerId>  inject a broker fault        -> "ok"
 *   leader <topic> <partition> <brokerId>  move a partition's leadership, as a failover does; a client with
 *                                 older metadata gets NOT_LEADER_FOR_PARTITION from the old leader -> "ok" | "error <msg>"
 *   produce-errors <count> <code>  the next <count> Produce requests (any broker, any client) fail with the Kafka
 *                                 error <code> (e.g. 10 = MESSAGE_TOO_LARGE: the mock enforces no size limit of its
 *                                 own, so this is how a test gets the answer a real broker gives a record too large)
 *   clear-produce-errors          drops the Produce errors not used yet -> "ok"
 *   ping                                                         -> "ok"
 * On start it prints one JSON line: {"bootstrap":"127.0.0.1:p1,...","control":"127.0.0.1:p"}.
 * It exits on SIGTERM/SIGINT or when its parent closes stdin (so tests never leave it behind).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

#define MAX_CLIENTS 32
#define LINE_MAX_LEN 512

struct client { int fd; char buf[LINE_MAX_LEN]; size_t len; };

static void reply(int fd, const char *msg) {
  size_t n = strlen(msg);
  if (write(fd, msg, n) < 0 || write(fd, "\n", 1) < 0) { /* client went away; nothing to do */ }
}

static void handle_line(rd_kafka_mock_cluster_t *mc, int fd, char *line) {
  char topic[256];
  int num = 0;
  int broker = 0;
  char msg[LINE_MAX_LEN + 64];
  if (sscanf(line, "create %255s %d", topic, &num) == 2) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, num, 1);
    if (err) { snprintf(msg, sizeof msg, "error %s", rd_kafka_err2str(err)); reply(fd, msg); }
    else reply(fd, "ok");
  } else if (sscanf(line, "leader %255s %d %d", topic, &num, &broker) == 3) {
    rd_kafka_resp_err_t err = rd_kafka_mock_partition_set_leader(mc, topic, num, broker);
    if (err) { snprintf(msg, sizeof msg, "error %s", rd_kafka_err2str(err)); reply(fd, msg); }
    else reply(fd, "ok");
  } else if (sscanf(line, "down %d", &num) == 1) {
    rd_kafka_mock_broker_set_down(mc, num);
    reply(fd, "ok");
  } else if (sscanf(line, "up %d", &num) == 1) {
    rd_kafka_mock_broker_set_up(mc, num);
    reply(fd, "ok");
  } else if (sscanf(line, "produce-errors %d %d", &num, &broker) == 2 && num > 0 && num <= 100000) {
    rd_kafka_resp_err_t *errs = malloc(sizeof *errs * (size_t)num);
    if (!errs) { reply(fd, "error out of memory"); return; }
    for (int i = 0; i < num; i++) errs[i] = (rd_kafka_resp_err_t)broker;
    rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, (size_t)num, errs);
    free(errs);
    reply(fd, "ok");
  } else if (strncmp(line, "clear-produce-errors", 20) == 0) {
    rd_kafka_mock_clear_request_errors(mc, 0 /* Produce */);
    reply(fd, "ok");
  } else if (strncmp(line, "ping", 4) == 0) {
    reply(fd, "ok");
  } else {
    snprintf(msg, sizeof msg, "error unknown command: %s", line);
    reply(fd, msg);
  }
}

int main(int argc, char **argv) {
  int brokers = 3;
  int control_port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--brokers") && i + 1 < argc) brokers = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--control-port") && i + 1 < argc) control_port = atoi(argv[++i]);
    else { fprintf(stderr, "usage: kafka-mock [--brokers N] [--control-port P]\n"); return 2; }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) { fprintf(stderr, "kafka-mock: %s\n", errstr); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) { fprintf(stderr, "kafka-mock: cannot create mock cluster\n"); return 1; }

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)control_port);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 8) < 0) {
    fprintf(stderr, "kafka-mock: control port: %s\n", strerror(errno));
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);
  printf("{\"bootstrap\":\"%s\",\"control\":\"127.0.0.1:%d\"}\n", rd_kafka_mock_cluster_bootstraps(mc),
         ntohs(addr.sin_port));
  fflush(stdout);

  struct client clients[MAX_CLIENTS];
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;

  while (!stopping) {
    struct pollfd fds[MAX_CLIENTS + 2];
    int idx[MAX_CLIENTS + 2];
    int n = 0;
    fds[n].fd = STDIN_FILENO; fds[n].events = POLLIN; idx[n++] = -2;
    fds[n].fd = lfd; fds[n].events = POLLIN; idx[n++] = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
      if (clients[i].fd >= 0) { fds[n].fd = clients[i].fd; fds[n].events = POLLIN; idx[n++] = i; }
    if (poll(fds, (nfds_t)n, 500) < 0) { if (errno == EINTR) continue; break; }
    for (int k = 0; k < n; k++) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (idx[k] == -2) {
        char tmp[256];
        ssize_t r = read(STDIN_FILENO, tmp, sizeof tmp);
        if (r <= 0) stopping = 1; /* parent closed stdin or went away */
      } else if (idx[k] == -1) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) continue;
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd < 0) { slot = i; break; }
        if (slot < 0) { reply(cfd, "error too many control connections"); close(cfd); continue; }
        clients[slot].fd = cfd; clients[slot].len = 0;
      } else {
        struct client *c = &clients[idx[k]];
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
        if (r <= 0) { close(c->fd); c->fd = -1; continue; }
        c->len += (size_t)r;
        c->buf[c->len] = 0;
        char *nl;
        while ((nl = strchr(c->buf, '\n')) != NULL) {
          *nl = 0;
          if (nl > c->buf && nl[-1] == '\r') nl[-1] = 0;
          handle_line(mc, c->fd, c->buf);
          size_t used = (size_t)(nl - c->buf) + 1;
          memmove(c->buf, nl + 1, c->len - used + 1);
          c->len -= used;
        }
        if (c->len >= sizeof c->buf - 1) { reply(c->fd, "error line too long"); close(c->fd); c->fd = -1; }
      }
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
