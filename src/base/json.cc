// Boost.JSON's implementation, compiled here once instead of linking the shared library (start-up
// time of the warden binary matters; see CMakeLists.txt).
#include <boost/json/src.hpp>
