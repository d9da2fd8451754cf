// The compiled parts of Asio and Beast, for the whole project (see runtime/asio.hpp).
#include <utility>

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
