/* paho_offline_buffer: what a vehicle client built on paho's own offline
 * buffer does with a backlog. It queues the backlog while disconnected
 * (MQTTAsync sendWhileDisconnected, file persistence, QoS 1), connects, and
 * while paho drains the buffer it publishes a status now and then, which
 * joins the end of the same buffer. Figures: the drain time (until paho has
 * a PUBACK for every message) and, for each status, the time from its
 * publish call to its PUBACK. bench_link runs it through the same shaped link
 * as the agent; it prints one JSON object on stdout.
 *
 * usage: paho_offline_buffer --uri URI --client-id ID --topic TOPIC
 *          --payloads FILE --persist DIR [--inflight N] [--every S]
 * FILE holds records of one byte ('B' backlog, 'S' status pressed during
 * the drain), a 4-byte big-endian length and the payload.
 */
#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char kind;
  int len;
  char* data;
} Record;

static atomic_int acked;
static atomic_int connected;
static double* statusSentAt;
static double* statusAckedAt;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* context: -1 for a backlog message, else the index of a status. */
static void onPublished(void* context, MQTTAsync_successData* response) {
  (void)response;
  intptr_t i = (intptr_t)context;
  if (i >= 0) statusAckedAt[i] = now();
  atomic_fetch_add(&acked, 1);
}

static void onPublishFailed(void* context, MQTTAsync_failureData* response) {
  (void)context;
  fprintf(stderr, "paho_offline_buffer: a publish failed (%d): %s\n", response ? response->code : 0,
          response && response->message ? response->message : "");
}

static void onConnected(void* context, char* cause) {
  (void)context;
  (void)cause;
  atomic_store(&connected, 1);
}

static void onLost(void* context, char* cause) {
  (void)context;
  atomic_store(&connected, 0);
  fprintf(stderr, "paho_offline_buffer: connection lost: %s\n", cause ? cause : "");
}

static int onArrived(void* context, char* topic, int topicLen, MQTTAsync_message* m) {
  (void)context;
  (void)topicLen;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

/* QoS 1; context: -1 for a backlog message, else the status's index. */
static int publish(MQTTAsync client, const char* topic, const Record* r, int context) {
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = r->data;
  m.payloadlen = r->len;
  m.qos = 1;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = onPublished;
  ro.onFailure = onPublishFailed;
  ro.context = (void*)(intptr_t)context;
  return MQTTAsync_sendMessage(client, topic, &m, &ro);
}

static void usage(void) {
  fprintf(stderr,
          "usage: paho_offline_buffer --uri URI --client-id ID --topic TOPIC --payloads FILE --persist DIR\n"
          "                           [--inflight N] [--every S]\n");
}

int main(int argc, char** argv) {
  const char *uri = NULL, *id = NULL, *topic = NULL, *file = NULL, *persist = NULL;
  int inflight = 256;
  double every = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0) {
      usage();
      return 0;
    }
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    const char* v = argv[++i];
    if (strcmp(argv[i - 1], "--uri") == 0) uri = v;
    else if (strcmp(argv[i - 1], "--client-id") == 0) id = v;
    else if (strcmp(argv[i - 1], "--topic") == 0) topic = v;
    else if (strcmp(argv[i - 1], "--payloads") == 0) file = v;
    else if (strcmp(argv[i - 1], "--persist") == 0) persist = v;
    else if (strcmp(argv[i - 1], "--inflight") == 0) inflight = atoi(v);
    else if (strcmp(argv[i - 1], "--every") == 0) every = atof(v);
    else {
      fprintf(stderr, "paho_offline_buffer: unknown option \"%s\"\n", argv[i - 1]);
      usage();
      return 2;
    }
  }
  if (!uri || !id || !topic || !file || !persist || inflight < 1 || every <= 0) {
    usage();
    return 2;
  }

  FILE* f = fopen(file, "rb");
  if (!f) {
    fprintf(stderr, "paho_offline_buffer: cannot open \"%s\"\n", file);
    return 2;
  }
  int n = 0, cap = 1024, backlog = 0, statuses = 0;
  Record* recs = malloc(sizeof(Record) * (size_t)cap);
  for (;;) {
    unsigned char head[5];
    if (fread(head, 1, 5, f) != 5) break;
    if (n == cap) recs = realloc(recs, sizeof(Record) * (size_t)(cap *= 2));
    recs[n].kind = (char)head[0];
    recs[n].len = (int)((uint32_t)head[1] << 24 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 8 | head[4]);
    recs[n].data = malloc((size_t)recs[n].len);
    if (fread(recs[n].data, 1, (size_t)recs[n].len, f) != (size_t)recs[n].len) {
      fprintf(stderr, "paho_offline_buffer: \"%s\" is truncated\n", file);
      return 2;
    }
    if (recs[n].kind == 'S') ++statuses;
    else ++backlog;
    ++n;
  }
  fclose(f);
  statusSentAt = calloc((size_t)statuses + 1, sizeof(double));
  statusAckedAt = calloc((size_t)statuses + 1, sizeof(double));

  MQTTAsync client;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.sendWhileDisconnected = 1;
  co.maxBufferedMessages = n + 16;
  co.allowDisconnectedSendAtAnyTime = 1; /* buffer before the first connect, as after an outage */
  int rc = MQTTAsync_createWithOptions(&client, uri, id, MQTTCLIENT_PERSISTENCE_DEFAULT, (void*)persist, &co);
  if (rc != MQTTASYNC_SUCCESS) {
    fprintf(stderr, "paho_offline_buffer: create failed: %d\n", rc);
    return 3;
  }
  MQTTAsync_setCallbacks(client, NULL, onLost, onArrived, NULL);
  MQTTAsync_setConnected(client, NULL, onConnected);

  /* The backlog, queued while there is no connection (as after an outage). */
  double t0 = now();
  for (int i = 0; i < n; ++i) {
    if (recs[i].kind == 'S') continue;
    if ((rc = publish(client, topic, &recs[i], -1)) != MQTTASYNC_SUCCESS) {
      fprintf(stderr, "paho_offline_buffer: buffering message %d failed: %d\n", i, rc);
      return 3;
    }
  }
  double queuedS = now() - t0;

  MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer;
  cn.keepAliveInterval = 30;
  cn.cleansession = 0; /* a persistent session: what is in flight at a cut is sent again */
  cn.maxInflight = inflight;
  cn.automaticReconnect = 1;
  cn.minRetryInterval = 1;
  cn.maxRetryInterval = 2;
  double connectAt = now();
  if ((rc = MQTTAsync_connect(client, &cn)) != MQTTASYNC_SUCCESS) {
    fprintf(stderr, "paho_offline_buffer: connect failed: %d\n", rc);
    return 3;
  }
  while (!atomic_load(&connected)) {
    usleep(2000);
    if (now() - connectAt > 60) {
      fprintf(stderr, "paho_offline_buffer: no connection within 60 s\n");
      return 3;
    }
  }
  double start = now(), nextPress = start + every, lastProgress = start;
  int pressed = 0, next = 0, lastAcked = 0, stalled = 0;
  while (atomic_load(&acked) < backlog + pressed || pressed < statuses) {
    usleep(5000);
    double t = now();
    if (atomic_load(&acked) != lastAcked) {
      lastAcked = atomic_load(&acked);
      lastProgress = t;
    } else if (t - lastProgress > 120) {
      /* paho holds messages it never completes: report what it did. */
      fprintf(stderr, "paho_offline_buffer: no PUBACK for 120 s with %d of %d acknowledged\n", lastAcked,
              backlog + pressed);
      stalled = 1;
      break;
    }
    /* Statuses pressed while at least 5 % of the backlog is still to go. */
    int remaining = backlog + pressed - atomic_load(&acked);
    if (pressed < statuses && t >= nextPress && remaining > backlog / 20) {
      while (next < n && recs[next].kind != 'S') ++next;
      statusSentAt[pressed] = now();
      if ((rc = publish(client, topic, &recs[next], pressed)) != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "paho_offline_buffer: status publish failed: %d\n", rc);
        return 3;
      }
      ++pressed;
      ++next;
      nextPress += every;
    }
    if (remaining <= backlog / 20 && pressed < statuses) statuses = pressed; /* the drain ended first */
    if (t - start > 1800) {
      fprintf(stderr, "paho_offline_buffer: drain timed out\n");
      return 3;
    }
  }
  double drainS = now() - start;
  if (stalled) drainS -= 120;
  printf("{\"queued_s\": %.3f, \"drain_s\": %.3f, \"messages\": %d, \"acknowledged\": %d, \"stalled\": %s, "
         "\"status_ms\": [",
         queuedS, drainS, backlog + pressed, atomic_load(&acked), stalled ? "true" : "false");
  for (int i = 0, first = 1; i < pressed; ++i)
    if (statusAckedAt[i] > 0) {
      printf("%s%.1f", first ? "" : ", ", (statusAckedAt[i] - statusSentAt[i]) * 1000.0);
      first = 0;
    }
  printf("]}\n");
  MQTTAsync_disconnectOptions dc = MQTTAsync_disconnectOptions_initializer;
  dc.timeout = 1000;
  MQTTAsync_disconnect(client, &dc);
  usleep(200000);
  MQTTAsync_destroy(&client);
  for (int i = 0; i < n; ++i) free(recs[i].data);
  free(recs);
  free(statusSentAt);
  free(statusAckedAt);
  return 0;
}
