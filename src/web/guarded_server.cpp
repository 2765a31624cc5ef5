// GuardedServer (guarded_server.hpp): httplib's keep-alive loop over a socket stream whose
// reads and writes fail once the request's deadline has passed.
#include "guarded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

namespace backprop::web {

namespace {

using Clock = std::chrono::steady_clock;

// What a request may hold besides its body (request line, headers, chunk framing). httplib
// 0.11 bounds the body (payload_max_length) but not the number of header lines.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

// Waits until sock is ready for events or the deadline passes (or stop() closes the
// server, noticed every 100 ms). True when ready.
bool wait_for(socket_t sock, short events, Clock::time_point deadline, const std::atomic<socket_t>& server) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || server == INVALID_SOCKET) return false;
    pollfd fd{sock, events, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

void ip_and_port(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  ip = text;
}

// A buffered socket stream (httplib reads request lines a byte at a time) with deadlines.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, const std::atomic<socket_t>& server, std::chrono::milliseconds timeout)
      : sock_(sock), server_(server), timeout_(timeout) {}

  // A new request: it must arrive whole within the timeout from now, in at most max_bytes.
  void next_request(std::size_t max_bytes) {
    read_deadline_ = Clock::now() + timeout_;
    writing_ = false;
    bytes_left_ = max_bytes;
  }
  // Whether bytes of a request are there (or come before the deadline).
  bool request_waiting() const { return begin_ < end_ || wait_for(sock_, POLLIN, read_deadline_, server_); }

  bool is_readable() const override { return begin_ < end_ || wait_for(sock_, POLLIN, read_deadline_, server_); }
  bool is_writable() const override {
    return writing_ ? wait_for(sock_, POLLOUT, write_deadline_, server_)
                    : wait_for(sock_, POLLOUT, Clock::now() + timeout_, server_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!is_readable()) return -1;
      ssize_t n;
      do n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min({size, end_ - begin_, bytes_left_});
    if (n == 0) return -1;  // over the request's byte budget: an endless header, say
    bytes_left_ -= n;
    std::copy(buffer_ + begin_, buffer_ + begin_ + n, ptr);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!writing_) {  // the response's status line and headers: its own deadline starts now
      writing_ = true;
      write_deadline_ = Clock::now() + timeout_;
      // httplib 0.11 keeps the connection open after a response that says "Connection:
      // close" unless the request said so too; then the unread rest of a refused body would
      // be parsed as the next request. Honour the response's word.
      const std::string_view head(ptr, size);
      close_ = head.substr(0, head.find("\r\n\r\n") + 2).find("\r\nConnection: close\r\n") != std::string_view::npos;
    }
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0) ip_and_port(address, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0) ip_and_port(address, ip, port);
  }
  socket_t socket() const override { return sock_; }
  bool close_after_response() const { return close_; }

 private:
  socket_t sock_;
  const std::atomic<socket_t>& server_;
  std::chrono::milliseconds timeout_;
  Clock::time_point read_deadline_, write_deadline_;
  bool writing_ = false, close_ = false;
  char buffer_[4096];
  std::size_t begin_ = 0, end_ = 0;
  std::size_t bytes_left_ = 0;
};

}  // namespace

GuardedServer::GuardedServer(std::chrono::milliseconds request_timeout, std::size_t threads)
    : request_timeout_(request_timeout) {
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  DeadlineStream stream(sock, svr_sock_, request_timeout_);
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    stream.next_request(payload_max_length_ + kMaxHeaderBytes);
    if (!stream.request_waiting()) break;  // idle past the timeout, closed, or the server stops
    bool closed = false;
    ok = process_request(stream, left == 1 || svr_sock_ == INVALID_SOCKET, closed, nullptr);
    if (!ok || closed || stream.close_after_response()) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace backprop::web
