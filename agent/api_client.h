#pragma once
// A blocking client of the agent's local API, for mdcctl and tests.
#include <chrono>
#include <optional>
#include <string>

#include "mdc/v1/local.pb.h"
#include "shared/wire/error.h"
#include "shared/wire/frame.h"

namespace mdc::agent {

/** One connection to the agent's socket. Thread-safety: one thread. */
class ApiClient {
 public:
  ApiClient() = default;
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  /** Connects to the socket; the error says whether the agent is not running. */
  Status connect(const std::string& socketPath);
  /** Sends a request and waits for its reply (state pushes in between are kept for next()). */
  Result<v1::ApiReply> call(v1::ApiRequest request, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /** Sends raw bytes as one frame (for tests of bad input). */
  Status sendFrame(const std::string& payload);
  /** Sends raw bytes without framing (for tests of bad input). */
  Status sendRaw(const std::string& bytes);
  /** Waits for the next message from the agent (reply or pushed state); nullopt on timeout/close. */
  std::optional<v1::AgentMessage> next(std::chrono::milliseconds timeout);
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  uint64_t nextId_ = 1;
  frame::Reader reader_;
  std::optional<v1::AgentMessage> stashed_;
};

}  // namespace mdc::agent
