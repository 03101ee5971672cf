// Catalogue requests run on a few worker threads, each with its own API connection.
#include "app_catalogue.h"

#include <algorithm>
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
