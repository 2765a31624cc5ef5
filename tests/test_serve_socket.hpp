// Raw TCP clients for the server tests (test_serve_abuse.cpp, test_serve_attacks.cpp): a
// connection to 127.0.0.1 only that can be as slow or as wrong as a test likes, with every
// wait bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace serve_test {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A TCP connection to 127.0.0.1:port.
class Connection {
  // Headers and a body of Content-Length bytes.
  static bool complete(const std::string& response) {
    const auto end = response.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto length = response.find("Content-Length: ");
    const std::size_t body = length < end ? std::stoul(response.substr(length + 16)) : 0;
    return response.size() >= end + 4 + body;
  }

 public:
  explicit Connection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // never any other address
    const timeval send_timeout{3, 0};  // a blocked send must not hang the test
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool send(const std::string& bytes) { return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()); }
  // Reads for up to `wait` seconds, until the server closes the connection (or, with
  // whole_response, until one whole response has come): what arrived, and whether it ended.
  std::pair<std::string, bool> receive(double wait, bool whole_response = false) {
    std::string got;
    const auto end = Clock::now() + std::chrono::duration<double>(wait);
    for (;;) {
      if (whole_response && complete(got)) return {got, true};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) return {got, false};
      pollfd fd{fd_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left)) <= 0) continue;
      char buffer[65536];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return {got, true};
      got.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The status of an HTTP response ("HTTP/1.1 400 Bad Request" -> 400), or -1.
inline int status_of(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 && response.size() >= 12 ? std::stoi(response.substr(9, 3)) : -1;
}

}  // namespace serve_test
