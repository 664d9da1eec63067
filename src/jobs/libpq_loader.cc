// The libpq functions Warden calls, each loading Debian's libpq.so.5 with dlopen on first use.
// Linked instead of libpq itself: libpq brings about twenty more libraries (Kerberos, LDAP,
// GnuTLS, SASL), and mapping and relocating them cost every start of `warden`, `warden exec`
// included, several milliseconds although only a PostgreSQL job store needs them.
#include "jobs/libpq_loader.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <libpq-fe.h>

namespace warden::jobs::pg {
namespace {

constexpr char kLibrary[] = "libpq.so.5";

struct Library {
  void* handle = nullptr;
  std::string error;  // why it could not be loaded
};

const Library& Loaded() {
  static Library library;
  static std::once_flag once;
  std::call_once(once, [] {
    library.handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (library.handle == nullptr) {
      const char* why = ::dlerror();  // NOLINT(concurrency-mt-unsafe): under call_once
      library.error = why != nullptr ? why : "unknown error";
    }
  });
  return library;
}

// The function `name` of libpq. Only reached with a connection or result that libpq made, so
// the library is loaded; a libpq without the symbol is a broken installation.
template <typename Fn>
Fn* Resolve(const char* name) {
  void* symbol = Loaded().handle != nullptr ? ::dlsym(Loaded().handle, name) : nullptr;
  if (symbol == nullptr) {
    (void)std::fprintf(stderr, "warden: %s has no function %s: reinstall Debian's libpq5\n",
                       kLibrary, name);
    std::abort();
  }
  return reinterpret_cast<Fn*>(symbol);  // NOLINT: dlsym's contract
}

}  // namespace

Status LoadLibpq() {
  const Library& library = Loaded();
  if (library.handle != nullptr) {
    return OkStatus();
  }
  return Error(ErrorCode::kUnavailable, "cannot load " + std::string(kLibrary) +
                                            " for the PostgreSQL job store (" + library.error +
                                            "); install it (apt-get install libpq5) or use SQLite");
}

}  // namespace warden::jobs::pg

using warden::jobs::pg::Resolve;

// Each forwarder resolves its function once. Those reachable before any connection exists
// (parsing a URL, connecting) also work when the library is missing: they fail as libpq does.
#define WARDEN_LIBPQ(ret, name, params, args)               \
  ret name params {                                         \
    static auto* const fn = Resolve<decltype(name)>(#name); \
    return fn args;                                         \
  }

extern "C" {

PQconninfoOption* PQconninfoParse(const char* conninfo, char** errmsg) {
  if (warden::jobs::pg::LoadLibpq().ok()) {
    static auto* const fn = Resolve<decltype(PQconninfoParse)>("PQconninfoParse");
    return fn(conninfo, errmsg);
  }
  if (errmsg != nullptr) {
    *errmsg = ::strdup(warden::jobs::pg::LoadLibpq().error().message().c_str());
  }
  return nullptr;
}

void PQfreemem(void* ptr) {
  if (!warden::jobs::pg::LoadLibpq().ok()) {
    std::free(ptr);  // NOLINT: what PQconninfoParse's fallback allocated with strdup
    return;
  }
  static auto* const fn = Resolve<decltype(PQfreemem)>("PQfreemem");
  fn(ptr);
}

PGconn* PQconnectdb(const char* conninfo) {
  if (!warden::jobs::pg::LoadLibpq().ok()) {
    return nullptr;
  }
  static auto* const fn = Resolve<decltype(PQconnectdb)>("PQconnectdb");
  return fn(conninfo);
}

PGconn* PQconnectdbParams(const char* const* keywords, const char* const* values,
                          int expand_dbname) {
  if (!warden::jobs::pg::LoadLibpq().ok()) {
    return nullptr;
  }
  static auto* const fn = Resolve<decltype(PQconnectdbParams)>("PQconnectdbParams");
  return fn(keywords, values, expand_dbname);
}

void PQfinish(PGconn* conn) {
  if (conn == nullptr) {
    return;  // nothing libpq made
  }
  static auto* const fn = Resolve<decltype(PQfinish)>("PQfinish");
  fn(conn);
}

WARDEN_LIBPQ(void, PQconninfoFree, (PQconninfoOption * options), (options))
WARDEN_LIBPQ(ConnStatusType, PQstatus, (const PGconn* conn), (conn))
WARDEN_LIBPQ(int, PQserverVersion, (const PGconn* conn), (conn))
WARDEN_LIBPQ(char*, PQerrorMessage, (const PGconn* conn), (conn))
WARDEN_LIBPQ(int, PQsocket, (const PGconn* conn), (conn))
WARDEN_LIBPQ(PQnoticeProcessor, PQsetNoticeProcessor,
             (PGconn * conn, PQnoticeProcessor proc, void* arg), (conn, proc, arg))
WARDEN_LIBPQ(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))
WARDEN_LIBPQ(PGresult*, PQprepare,
             (PGconn * conn, const char* name, const char* query, int n, const Oid* types),
             (conn, name, query, n, types))
WARDEN_LIBPQ(PGresult*, PQexecPrepared,
             (PGconn * conn, const char* name, int n, const char* const* values, const int* lengths,
              const int* formats, int result_format),
             (conn, name, n, values, lengths, formats, result_format))
WARDEN_LIBPQ(int, PQconsumeInput, (PGconn * conn), (conn))
WARDEN_LIBPQ(PGnotify*, PQnotifies, (PGconn * conn), (conn))
WARDEN_LIBPQ(ExecStatusType, PQresultStatus, (const PGresult* res), (res))
WARDEN_LIBPQ(char*, PQresultErrorMessage, (const PGresult* res), (res))
WARDEN_LIBPQ(char*, PQresultErrorField, (const PGresult* res, int field), (res, field))
WARDEN_LIBPQ(int, PQntuples, (const PGresult* res), (res))
WARDEN_LIBPQ(char*, PQgetvalue, (const PGresult* res, int row, int field), (res, row, field))
WARDEN_LIBPQ(int, PQgetlength, (const PGresult* res, int row, int field), (res, row, field))
WARDEN_LIBPQ(int, PQgetisnull, (const PGresult* res, int row, int field), (res, row, field))

void PQclear(PGresult* res) {
  if (res == nullptr) {
    return;
  }
  static auto* const fn = Resolve<decltype(PQclear)>("PQclear");
  fn(res);
}

}  // extern "C"
