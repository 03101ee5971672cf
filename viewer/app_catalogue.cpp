// Catalogue requests run on a few worker threads, each with its own API connection.
#include "app_catalogue.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

#include "api_client.h"
#include "image_codec.h"

namespace reread::viewer {
namespace {

std::string string_or(const nlohmann::json& j, const char* key, std::string fallback = {}) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

CatalogueError error_from(CatalogueError::Request request, const std::string& operation, const std::exception& e) {
  if (const auto* api = dynamic_cast<const ApiError*>(&e)) return {request, operation, api->status, api->what()};
  return {request, operation, 0, e.what()};
}

}  // namespace

CaseSummary parse_case_summary(const nlohmann::json& c) {
  CaseSummary s;
  s.id = c.at("id").get<std::int64_t>();
  s.accession = string_or(c, "accession");
  s.status = string_or(c, "status");
  s.due_at = string_or(c, "due_at");
  s.question = string_or(c, "question");
  s.overdue = c.value("overdue", false);
  return s;
}

CaseDetail parse_case_detail(const nlohmann::json& c) {
  CaseDetail d;
  d.summary = parse_case_summary(c);
  d.specimen = string_or(c, "specimen");
  d.site = string_or(c, "site");
  if (const auto it = c.find("slides"); it != c.end() && it->is_array()) {
    for (const auto& s : *it) {
      CaseSlideRef ref{string_or(s, "slide_id"), string_or(s, "label")};
      if (ref.label.empty()) ref.label = ref.slide_id;
      if (!ref.slide_id.empty()) d.slides.push_back(std::move(ref));
    }
  }
  if (const auto it = c.find("annotation_classes"); it != c.end() && it->is_array()) {
    for (const auto& k : *it) {
      if (k.is_object() && !string_or(k, "name").empty()) d.annotation_classes.push_back({string_or(k, "name"), string_or(k, "color")});
    }
  }
  return d;
}

AppCatalogue::AppCatalogue(std::string base_url, std::string token, int workers)
    : base_url_(std::move(base_url)), token_(std::move(token)) {
  // Fails here, not on a worker, for a URL that is not http://host[:port].
  parse_base_url(base_url_);
  for (int i = 0; i < std::max(1, workers); ++i) {
    workers_.emplace_back([this](const std::stop_token& stop) { run(stop); });
  }
}

AppCatalogue::~AppCatalogue() {
  for (auto& w : workers_) w.request_stop();
  wake_worker_.notify_all();
}

void AppCatalogue::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_worker_.notify_all();
}

void AppCatalogue::request_cases() {
  post([](ApiClient& api) -> CatalogueAnswer {
    try {
      CaseList list;
      const auto j = api.get("/api/cases");
      for (const auto& c : j.at("cases")) list.cases.push_back(parse_case_summary(c));
      return list;
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::cases, "loading the cases", e);
    }
  });
}

void AppCatalogue::request_case(std::int64_t case_id) {
  post([case_id](ApiClient& api) -> CatalogueAnswer {
    try {
      return parse_case_detail(api.get("/api/cases/" + std::to_string(case_id)));
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::case_detail, "loading case " + std::to_string(case_id), e);
    }
  });
}

void AppCatalogue::request_slide(const std::string& slide_id, const std::string& label, ViewPlacement placement) {
  post([slide_id, label, placement](ApiClient& api) -> CatalogueAnswer {
    try {
      return SlideToOpen{slide_id, label.empty() ? slide_id : label, api.slide_layout(slide_id), placement};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::slide, "opening slide " + slide_id, e);
    }
  });
}

void AppCatalogue::request_thumbnail(const std::string& slide_id) {
  post([slide_id](ApiClient& api) -> CatalogueAnswer {
    try {
      const std::string bytes = api.get_bytes("/slides/" + slide_id + "/thumbnail?max=256");
      return Thumbnail{slide_id, decode_jpeg({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()})};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::thumbnail, "loading the thumbnail of slide " + slide_id, e);
    }
  });
}

namespace {

ReportLoaded load_report(ApiClient& api, std::int64_t case_id, std::string done) {
  const std::string base = "/api/cases/" + std::to_string(case_id);
  return {case_id, api.get(base), api.get(base + "/report"), std::move(done)};
}

// The server's refusal of a write as an ApiError (what the banner says).
void check(const HttpReply& reply, const std::string& what) {
  if (reply.status / 100 == 2) return;
  std::string error = "http_" + std::to_string(reply.status), detail;
  const auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
  if (j.is_object() && j.contains("detail") && j["detail"].is_string()) detail = j["detail"].get<std::string>();
  throw ApiError(reply.status, error, detail, what + ": " + describe_http_error(reply.status, reply.body));
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

void AppCatalogue::request_annotations(std::int64_t case_id, const std::string& slide_id) {
  post([case_id, slide_id](ApiClient& api) -> CatalogueAnswer {
    try {
      const auto j =
          api.get("/api/cases/" + std::to_string(case_id) + "/slides/" + slide_id + "/annotations");
      return AnnotationsLoaded{case_id, slide_id, j.value("annotations", nlohmann::json::array())};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::annotations, "loading the annotations of slide " + slide_id, e);
    }
  });
}

void AppCatalogue::request_report(std::int64_t case_id) {
  post([case_id](ApiClient& api) -> CatalogueAnswer {
    try {
      return load_report(api, case_id, "");
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::report, "loading the report of case " + std::to_string(case_id), e);
    }
  });
}

void AppCatalogue::request_sign(std::int64_t case_id, std::int64_t version) {
  post([case_id, version](ApiClient& api) -> CatalogueAnswer {
    try {
      const std::string path = "/api/cases/" + std::to_string(case_id) + "/report/sign";
      // If-Match: the draft the consultant saw is the one signed (a 412 if it changed meanwhile).
      check(api.post_json(path, nlohmann::json::object(), version_tag(version)), "signing out");
      return load_report(api, case_id, "signed out");
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::sign, "signing out case " + std::to_string(case_id), e);
    }
  });
}

void AppCatalogue::request_addendum(std::int64_t case_id, const std::string& text) {
  post([case_id, text](ApiClient& api) -> CatalogueAnswer {
    try {
      const std::string path = "/api/cases/" + std::to_string(case_id) + "/report/addenda";
      check(api.post_json(path, {{"text", text}}), "adding the addendum");
      return load_report(api, case_id, "addendum added");
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::addendum, "adding an addendum to case " + std::to_string(case_id),
                        e);
    }
  });
}

void AppCatalogue::request_report_pdf(std::int64_t case_id, const std::string& path) {
  post([case_id, path](ApiClient& api) -> CatalogueAnswer {
    try {
      const std::string pdf = api.get_bytes("/api/cases/" + std::to_string(case_id) + "/report.pdf");
      write_file(path, pdf);
      return FileDone{"wrote " + path + " (" + std::to_string(pdf.size() / 1024) + " KiB)", case_id, ""};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::file, "exporting the report PDF", e);
    }
  });
}

void AppCatalogue::request_export(std::int64_t case_id, const std::string& slide_id, const std::string& format,
                                  const std::string& path) {
  post([case_id, slide_id, format, path](ApiClient& api) -> CatalogueAnswer {
    try {
      const std::string bytes = api.get_bytes("/api/cases/" + std::to_string(case_id) + "/slides/" + slide_id +
                                              "/annotations/export?format=" + format);
      write_file(path, bytes);
      return FileDone{"exported the annotations to " + path, case_id, ""};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::file, "exporting the annotations", e);
    }
  });
}

void AppCatalogue::request_import(std::int64_t case_id, const std::string& slide_id, const std::string& path) {
  post([case_id, slide_id, path](ApiClient& api) -> CatalogueAnswer {
    try {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + path);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // The server reads the format from the query: ASAP's root element names it, other XML is ImageScope's.
      const auto first = bytes.find_first_not_of(" \t\r\n");
      const bool xml = first != std::string::npos && bytes[first] == '<';
      const std::string format =
          !xml ? "geojson" : (bytes.find("<ASAP_Annotations") != std::string::npos ? "asap" : "imagescope");
      const HttpReply reply = api.post_bytes("/api/cases/" + std::to_string(case_id) + "/slides/" + slide_id +
                                                 "/annotations/import?format=" + format,
                                             bytes, xml ? "application/xml" : "application/geo+json");
      check(reply, "importing " + path);
      const auto j = nlohmann::json::parse(reply.body, nullptr, false);
      const auto count = j.is_object() && j.contains("imported") && j["imported"].is_number_integer()
                             ? std::to_string(j["imported"].get<std::int64_t>())
                             : std::string("the");
      return FileDone{"imported " + count + " annotations from " + path, case_id, slide_id};
    } catch (const std::exception& e) {
      return error_from(CatalogueError::Request::file, "importing annotations", e);
    }
  });
}

void AppCatalogue::on_answer(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

std::vector<CatalogueAnswer> AppCatalogue::take_answers() {
  std::lock_guard lock(mutex_);
  return std::exchange(answers_, {});
}

bool AppCatalogue::busy() const {
  std::lock_guard lock(mutex_);
  return running_ > 0 || !jobs_.empty();
}

void AppCatalogue::run(const std::stop_token& stop) {
  ApiClient api(base_url_, token_);
  api.connect();  // the handshake now, while nothing waits on it
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      if (!wake_worker_.wait(lock, stop, [&] { return !jobs_.empty(); })) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    CatalogueAnswer answer = job(api);
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      answers_.push_back(std::move(answer));
      --running_;
      wake = wake_;
    }
    if (wake) wake();
  }
}

}  // namespace reread::viewer
