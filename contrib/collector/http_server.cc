#include <utility> // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include "http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>

namespace collector {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::uint32_t k_header_limit = 16 * 1024;

// What every session of one server shares: the options, the handlers and the counters behind
// the connection and buffering caps.
struct Shared {
  ServerOptions options;
  Handler handler;
  HeadCheck check_head;
  std::atomic<std::size_t> live{0};
  std::atomic<std::size_t> buffered{0}; // body bytes reserved by requests being read
  std::mutex mutex;
  std::unordered_map<std::string, std::size_t> per_address; // live connections per address

  // Counts a connection from `address`; false (nothing counted) when a cap is reached.
  bool admit(const std::string& address)
  {
    std::lock_guard lock(mutex);
    if (live.load() >= options.max_connections) {
      return false;
    }
    std::size_t& n = per_address[address];
    if (n >= options.max_connections_per_address) {
      if (n == 0) {
        per_address.erase(address);
      }
      return false;
    }
    ++n;
    ++live;
    return true;
  }

  void release(const std::string& address)
  {
    std::lock_guard lock(mutex);
    const auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) {
      per_address.erase(it);
    }
    --live;
  }

  // Reserves `bytes` of body buffer; false when the global cap would be passed.
  bool reserve(std::size_t bytes)
  {
    std::size_t now = buffered.load();
    do {
      if (now + bytes > options.max_buffered_bytes) {
        return false;
      }
    } while (!buffered.compare_exchange_weak(now, now + bytes));
    return true;
  }
};

// One connection: read a request, answer it, repeat while keep-alive. Stream is a
// beast::tcp_stream or an ssl_stream over one.
template <class Stream> class Session : public std::enable_shared_from_this<Session<Stream>> {
public:
  // The connection was admitted (Shared::admit) for `address`; released at the end.
  Session(Stream stream, Shared& shared, std::string peer, std::string address)
      : m_stream(std::move(stream)), m_shared(shared), m_options(shared.options),
        m_peer(std::move(peer)), m_address(std::move(address))
  {
  }
  ~Session()
  {
    unreserve();
    m_shared.release(m_address);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start()
  {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_header();
    } else {
      beast::get_lowest_layer(m_stream).expires_after(first_byte_timeout());
      m_stream.async_handshake(net::ssl::stream_base::server,
                               [self = this->shared_from_this()](beast::error_code ec) {
                                 if (!ec) {
                                   self->read_header();
                                 }
                               });
    }
  }

private:
  std::chrono::seconds first_byte_timeout() const
  {
    return std::min(m_options.first_byte_timeout, m_options.io_timeout);
  }

  void unreserve()
  {
    if (m_reserved > 0) {
      m_shared.buffered -= m_reserved;
      m_reserved = 0;
    }
  }

  void read_header()
  {
    m_parser.emplace();
    m_parser->header_limit(k_header_limit);
    m_parser->body_limit(m_options.max_body);
    // The whole header (and, between keep-alive requests, the wait for it) within this.
    beast::get_lowest_layer(m_stream).expires_after(first_byte_timeout());
    http::async_read_header(m_stream, m_buffer, *m_parser,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec)
  {
    if (ec == http::error::body_limit) { // Content-Length over the limit: Beast says so here
      send_error(413, "the body is larger than " + std::to_string(m_options.max_body) + " bytes");
      return;
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        send_error(431, "request headers larger than 16 KiB");
      }
      return; // closed, timed out or garbage: drop the connection
    }
    const auto& req = m_parser->get();
    const auto length = m_parser->content_length();
    if (length && *length > m_options.max_body) {
      send_error(413, "the body is larger than " + std::to_string(m_options.max_body) + " bytes");
      return;
    }
    if (m_shared.check_head) {
      HttpRequest head = to_request(req);
      head.peer = m_peer;
      std::optional<HttpResponse> early;
      try {
        early = m_shared.check_head(head);
      } catch (const std::exception&) {
        early = HttpResponse{500, "application/json", R"({"error":"internal error"})", {}, {}};
      }
      if (early) {
        m_early = true;
        send(*early, req.version(), false);
        return;
      }
    }
    // Chunked bodies reserve the largest allowed; Content-Length bodies what they announce.
    const std::size_t want = length                ? static_cast<std::size_t>(*length)
                             : m_parser->chunked() ? m_options.max_body
                                                   : 0;
    if (want > 0) {
      if (!m_shared.reserve(want)) {
        HttpResponse busy{503,
                          "application/json",
                          R"({"error":"too many request bodies at once; send it again later"})",
                          {{"Retry-After", "5"}},
                          {}};
        m_early = true;
        send(busy, req.version(), false);
        return;
      }
      m_reserved = want;
    }
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(m_stream, *cont,
                        [self = this->shared_from_this(), cont](beast::error_code e, std::size_t) {
                          if (!e) {
                            self->read_body();
                          }
                        });
      return;
    }
    read_body();
  }

  void read_body()
  {
    beast::get_lowest_layer(m_stream).expires_after(m_options.io_timeout);
    http::async_read(m_stream, m_buffer, *m_parser,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(beast::error_code ec)
  {
    if (ec == http::error::body_limit) {
      send_error(413, "the body is larger than " + std::to_string(m_options.max_body) + " bytes");
      return;
    }
    if (ec) {
      return;
    }
    http::request<http::string_body> req = m_parser->release();
    HttpRequest r = to_request(req);
    r.body = std::move(req.body());
    r.peer = m_peer;
    m_head = req.method() == http::verb::head;
    HttpResponse out;
    try {
      out = m_shared.handler(r);
      r.body.clear();
      r.body.shrink_to_fit();
      unreserve();
    } catch (const std::exception& e) {
      out = HttpResponse{
          500, "application/json", std::string(R"({"error":"internal error"})"), {}, {}};
    }
    unreserve();
    send(std::move(out), req.version(), req.keep_alive());
  }

  static HttpRequest to_request(const http::request<http::string_body>& req)
  {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      std::string& slot = r.headers[name];
      slot += (slot.empty() ? "" : ", ") + std::string(field.value());
    }
    return r;
  }

  void send_error(int status, const std::string& message)
  {
    HttpResponse out;
    out.status = status;
    out.body = std::string(R"({"error":")") + message + "\"}";
    send(std::move(out), 11, false);
  }

  void send(HttpResponse out, unsigned version, bool keep_alive)
  {
    if (out.stream) {
      send_stream(std::move(out), version, keep_alive);
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(out.status), version);
    res->set(http::field::server, "webseed-collector");
    res->set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) {
      res->set(name, value);
    }
    res->keep_alive(keep_alive);
    if (m_head) { // the length of the answer a GET would get, and no body
      res->content_length(out.body.size());
      m_head = false;
    } else {
      res->body() = std::move(out.body);
      res->prepare_payload();
    }
    beast::get_lowest_layer(m_stream).expires_after(m_options.io_timeout);
    http::async_write(
        m_stream, *res, [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
          if (!ec && res->keep_alive()) {
            self->read_header();
          } else {
            self->close();
          }
          if (!ec && !res->keep_alive() && (res->result_int() == 413 || self->m_early)) {
            self->drain(); // let the client read the answer before the close
          }
        });
  }

  // The headers of a streamed answer, then its pieces as chunks (HTTP/1.1) or raw bytes until
  // the close (HTTP/1.0); each write has the io deadline.
  void send_stream(HttpResponse out, unsigned version, bool keep_alive)
  {
    auto res = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(out.status), version);
    res->set(http::field::server, "webseed-collector");
    res->set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) {
      res->set(name, value);
    }
    const bool chunked = version >= 11;
    if (chunked) {
      res->chunked(true);
    }
    res->keep_alive(keep_alive && chunked);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    const bool head = std::exchange(m_head, false);
    auto producer = std::make_shared<std::function<bool(std::string&)>>(std::move(out.stream));
    beast::get_lowest_layer(m_stream).expires_after(m_options.io_timeout);
    http::async_write_header(m_stream, *serializer,
                             [self = this->shared_from_this(), res, serializer, producer, head,
                              chunked](beast::error_code ec, std::size_t) {
                               if (ec) {
                                 self->close();
                               } else if (head) {
                                 self->finish(res->keep_alive());
                               } else {
                                 self->write_piece(producer, chunked, res->keep_alive());
                               }
                             });
  }

  void write_piece(const std::shared_ptr<std::function<bool(std::string&)>>& producer, bool chunked,
                   bool keep_alive)
  {
    std::string piece;
    bool more = false;
    try {
      more = (*producer)(piece);
    } catch (const std::exception&) {
      close(); // the answer cannot be finished: the client sees it cut short
      return;
    }
    auto frame = std::make_shared<std::string>();
    if (chunked) {
      if (!piece.empty()) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        *frame = size;
        *frame += piece;
        *frame += "\r\n";
      }
      if (!more) {
        *frame += "0\r\n\r\n";
      }
    } else {
      *frame = std::move(piece);
    }
    beast::get_lowest_layer(m_stream).expires_after(m_options.io_timeout);
    net::async_write(m_stream, net::buffer(*frame),
                     [self = this->shared_from_this(), frame, producer, chunked, more,
                      keep_alive](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->close();
                       } else if (more) {
                         self->write_piece(producer, chunked, keep_alive);
                       } else {
                         self->finish(keep_alive);
                       }
                     });
  }

  void finish(bool keep_alive)
  {
    if (keep_alive) {
      read_header();
    } else {
      close();
    }
  }

  // After an early answer (413) the client may still be sending: read and discard for a
  // bounded time and size, so the close does not reset the connection under the answer.
  void drain()
  {
    if (m_drained > (8u << 20)) {
      return;
    }
    if (m_drained == 0) { // one deadline for the whole drain: a trickle cannot extend it
      beast::get_lowest_layer(m_stream).expires_after(std::chrono::seconds(2));
    }
    m_stream.async_read_some(net::buffer(m_sink), [self = this->shared_from_this()](
                                                      beast::error_code ec, std::size_t n) {
      self->m_drained += std::max<std::size_t>(n, 1);
      if (!ec) {
        self->drain();
      }
    });
  }

  void close()
  {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      beast::get_lowest_layer(m_stream).socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream m_stream;
  Shared& m_shared;
  const ServerOptions& m_options;
  std::string m_peer;
  std::string m_address;
  std::size_t m_reserved = 0; // of Shared::buffered
  bool m_early = false;       // answered from the headers: drain, then close
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  bool m_head = false;
  std::array<char, 16384> m_sink{};
  std::size_t m_drained = 0;
};

} // namespace

struct HttpServer::Impl {
  Shared shared;
  ServerOptions& options = shared.options;
  net::io_context ioc;
  std::optional<net::ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  net::steady_timer backoff{ioc};

  void accept()
  {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      // errno values, not `ec == net::error::...`: that comparison makes a virtual call on
      // Boost 1.74's constexpr system category, which UBSan's vptr check rejects.
      const int err = ec ? ec.value() : 0;
      if (err == ECANCELED) {
        return;
      }
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors: accepting again at once would spin. Wait for sessions to end.
        backoff.expires_after(std::chrono::milliseconds(100));
        backoff.async_wait([this](beast::error_code e) {
          if (!e || e.value() != ECANCELED) {
            accept();
          }
        });
        return;
      }
      if (!ec) {
        beast::error_code peer_ec;
        const auto ep = socket.remote_endpoint(peer_ec);
        const std::string address = peer_ec ? std::string("?") : ep.address().to_string();
        const std::string peer = address + ":" + (peer_ec ? "?" : std::to_string(ep.port()));
        if (!shared.admit(address)) {
          beast::error_code ignored;
          socket.close(ignored); // over a cap: refused at once, costs no descriptor for long
        } else if (tls) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), shared, peer, address)
              ->start();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared,
                                                       peer, address)
              ->start();
        }
      }
      accept();
    });
  }
};

HttpServer::HttpServer(const ServerOptions& options, Handler handler, HeadCheck check_head)
    : m_impl(new Impl)
{
  // One descriptor per connection: allow as many as the hard limit permits.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  m_impl->shared.options = options;
  m_impl->shared.handler = std::move(handler);
  m_impl->shared.check_head = std::move(check_head);
  if (!options.tls_cert.empty()) {
    m_impl->tls.emplace(net::ssl::context::tls_server);
    auto& ctx = *m_impl->tls;
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx.use_certificate_chain_file(options.tls_cert, ec);
    if (ec) {
      throw std::runtime_error(options.tls_cert + ": cannot load the certificate: " + ec.message());
    }
    ctx.use_private_key_file(options.tls_key, net::ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error(options.tls_key + ": cannot load the key: " + ec.message());
    }
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(options.address, ec);
  if (ec) {
    throw std::runtime_error("listen address '" + options.address + "': " + ec.message());
  }
  const tcp::endpoint endpoint(address, options.port);
  auto& acc = m_impl->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) {
    acc.set_option(net::socket_base::reuse_address(true), ec);
    acc.bind(endpoint, ec);
  }
  if (!ec) {
    acc.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("cannot listen on " + options.address + ":" +
                             std::to_string(options.port) + ": " + ec.message());
  }
}

HttpServer::~HttpServer() = default;

std::uint16_t HttpServer::port() const
{
  return m_impl->acceptor.local_endpoint().port();
}

void HttpServer::run()
{
  m_impl->accept();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < std::max(1u, m_impl->options.threads); ++i) {
    threads.emplace_back([this] { m_impl->ioc.run(); });
  }
  m_impl->ioc.run();
  for (std::thread& t : threads) {
    t.join();
  }
}

void HttpServer::stop()
{
  m_impl->ioc.stop();
}

} // namespace collector
