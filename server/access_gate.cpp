// The front door: authentication, slide rights for the tile routes, audit of reads and denials.
#include "access_gate.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <mutex>

#include "api_tokens.h"
#include "slide_catalog.h"

namespace reread {

namespace {

// The slide a tile-side path names, or empty: /api/slides/ID, /slides/ID..., /iiif/3/ID/...
std::string slide_of(std::string_view path) {
  for (std::string_view prefix : {"/api/slides/", "/slides/", "/iiif/3/"}) {
    if (path.starts_with(prefix)) {
      const std::string_view id = path.substr(prefix.size(), 24);
      return is_slide_id(id) ? std::string(id) : std::string();
    }
  }
  return {};
}

}  // namespace

AccessGate::AccessGate(RecordStore& store, TileService& tiles, RecordRoutes& routes,
                       boost::asio::thread_pool& record_pool)
    : store_(store), tiles_(tiles), routes_(routes), record_pool_(record_pool) {}

void AccessGate::audit_async(AuditEntry e) {
  // A flood of bad requests must not queue without bound: past the limit, entries are counted, not kept.
  if (pending_audits_.fetch_add(1) >= kMaxPendingAudits) {
    pending_audits_.fetch_sub(1);
    if (dropped_audits_.fetch_add(1) % 1000 == 0) {
      spdlog::warn(
          nlohmann::json("audit queue full: " + std::to_string(dropped_audits_.load()) + " entries dropped so far")
              .dump());
    }
    return;
  }
  boost::asio::post(record_pool_, [this, e = std::move(e)] {
    try {
      store_.audit(e);
    } catch (const std::exception& ex) {
      spdlog::error(nlohmann::json(std::string("audit write failed: ") + ex.what()).dump());
    }
    pending_audits_.fetch_sub(1);
  });
}

std::optional<Principal> AccessGate::authenticate(const HttpRequest& req) {
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return std::nullopt;
  const auto value = it->value();
  const auto token = bearer_token(std::string_view(value.data(), value.size()));
  if (!token) return std::nullopt;
  const auto hash = api_token_hash(*token);
  const std::string key(hash.begin(), hash.end());
  const std::uint64_t generation = store_.generation();
  {
    std::shared_lock lock(mutex_);
    if (auto c = principals_.find(key); c != principals_.end() && c->second.generation == generation) {
      return c->second.principal;
    }
  }
  std::optional<Principal> who = store_.principal_for_token(hash);
  std::unique_lock lock(mutex_);
  if (principals_.size() > 100000) principals_.clear();  // bounded: random tokens must not grow it forever
  principals_[key] = {generation, who};
  return who;
}

AccessGate::SlideRights AccessGate::slide_rights(const Principal& who, const std::string& slide_id) {
  const std::uint64_t generation = store_.generation();
  const auto key = std::make_pair(who.user_id, slide_id);
  {
    std::shared_lock lock(mutex_);
    if (auto c = rights_.find(key); c != rights_.end() && c->second.generation == generation) return c->second;
  }
  SlideRights r{generation, false, false, "the slide is not part of any case this user may see"};
  if (who.role == Role::admin) {
    r = {generation, true, true, {}};
  } else {
    for (const std::int64_t case_id : store_.cases_with_slide(slide_id)) {
      const CaseRelation rel = store_.relation(who, case_id);
      const Decision read = decide(who, Action::read_slide, rel);
      const Decision label = decide(who, Action::read_label, rel);
      r.read = r.read || read.allowed;
      r.label = r.label || label.allowed;
      if (!read.allowed) r.reason = read.reason;
    }
    if (r.read && !r.label)
      r.reason = "slide labels carry patient identifiers: consultants of the case and admins only";
  }
  std::unique_lock lock(mutex_);
  if (rights_.size() > 100000) rights_.clear();
  rights_[key] = r;
  return r;
}

void AccessGate::audit_slide_read(const Principal& who, const std::string& slide_id, const RequestContext& ctx) {
  const auto hour =
      std::chrono::duration_cast<std::chrono::hours>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto key = std::make_pair(who.user_id, slide_id);
  {
    std::shared_lock lock(mutex_);
    if (auto a = audited_hour_.find(key); a != audited_hour_.end() && a->second == hour) return;
  }
  {
    std::unique_lock lock(mutex_);
    auto& seen = audited_hour_[key];
    if (seen == hour) return;
    seen = hour;
  }
  audit_async({0, "", who.name, ctx.remote_address, "read", "slide/" + slide_id + "/tiles", "first read this hour"});
}

void AccessGate::handle(HttpRequest&& req, const RequestContext& ctx, Respond respond_as_is) {
  // Browsers on other origins read every answer, errors included.
  Respond respond = [r = std::move(respond_as_is)](HttpResponse&& res) {
    if (res.find(http::field::access_control_allow_origin) == res.end()) {
      res.set(http::field::access_control_allow_origin, "*");
    }
    r(std::move(res));
  };
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return tiles_.handle(std::move(req), ctx, std::move(respond));
  // CORS preflight: browsers ask before sending Authorization from another origin.
  if (req.method() == http::verb::options) {
    HttpResponse res{http::status::no_content, req.version()};
    res.set(http::field::access_control_allow_origin, "*");
    res.set(http::field::access_control_allow_headers, "Authorization, If-Match, If-None-Match, Content-Type");
    res.set(http::field::access_control_allow_methods, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    res.set(http::field::access_control_max_age, "86400");
    res.keep_alive(req.keep_alive());
    return respond(std::move(res));
  }
  const std::optional<Principal> who = authenticate(req);
  if (!who) {
    const bool had = req.find(http::field::authorization) != req.end();
    audit_async({0, "", "", ctx.remote_address, "deny", std::string(path.substr(0, 200)),
                 had ? "invalid or revoked token" : "no token"});
    HttpResponse res =
        (json_error(req, http::status::unauthorized, "unauthorized",
                    had ? "the bearer token is invalid or revoked" : "send Authorization: Bearer <token>"));
    res.set(http::field::www_authenticate, "Bearer realm=\"reread\"");
    return respond(std::move(res));
  }
  const auto deny = [&](const std::string& reason) {
    audit_async({0, "", who->name, ctx.remote_address, "deny", std::string(path.substr(0, 200)), reason});
    respond(json_error(req, http::status::forbidden, "forbidden", reason));
  };

  if (RecordRoutes::owns(path)) {
    auto owned = std::make_shared<HttpRequest>(std::move(req));
    boost::asio::post(record_pool_, [this, owned, principal = *who, ctx, respond = std::move(respond)] {
      respond(routes_.handle(*owned, principal, ctx));
    });
    return;
  }
  if (path == "/metrics" || path == "/api/slides/rescan") {
    if (who->role != Role::admin) return deny("only an admin may do this");
    return tiles_.handle(std::move(req), ctx, std::move(respond));
  }
  if (path == "/api/slides") {
    if (who->role == Role::admin) return tiles_.handle(std::move(req), ctx, std::move(respond));
    RequestContext scoped = ctx;
    scoped.slide_visible = [this, principal = *who](const std::string& id) { return slide_rights(principal, id).read; };
    return tiles_.handle(std::move(req), scoped, std::move(respond));
  }
  const std::string slide_id = slide_of(path);
  if (!slide_id.empty()) {
    const SlideRights rights = slide_rights(*who, slide_id);
    if (!rights.read) return deny(rights.reason);
    if (path.ends_with("/associated/label.jpg") && !rights.label) return deny(rights.reason);
    audit_slide_read(*who, slide_id, ctx);
  }
  tiles_.handle(std::move(req), ctx, std::move(respond));
}

}  // namespace reread
