// The one header through which the project uses Boost.Asio and Beast, and the place for the
// settings and workarounds they need: every network component (agent, drivers, uplink,
// ledger) includes this instead of Boost directly and links loyalty::runtime.
//
// Asio and Beast are compiled once, in runtime/asio.cpp (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION, set by the loyalty::runtime target), which keeps every other
// translation unit lighter on a two-core build machine.

#ifndef LOYALTY_RUNTIME_ASIO_HPP_
#define LOYALTY_RUNTIME_ASIO_HPP_

#include <utility>  // before Asio's awaitable header, which uses std::exchange without it

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace loyalty {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

template <class T = void>
using Task = asio::awaitable<T>;

// Completion token for coroutines that want (error_code, result...) instead of exceptions.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace loyalty

#endif  // LOYALTY_RUNTIME_ASIO_HPP_
