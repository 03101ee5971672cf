// The case and slide catalogue from reread-server, fetched on worker threads: the case list, one case's
// slides, a slide's layout for opening it, thumbnails. The frame asks by request and drains finished
// answers from a queue; it never waits on the network. Requests run in parallel, each worker on its own
// keep-alive connection, opened when the catalogue starts: at a distant server, opening a slide costs one
// round trip, not a handshake plus the case list's and the case's before it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "rgb_image.h"
#include "tile_provider.h"

namespace reread::viewer {

class ApiClient;

struct CaseSummary {
  std::int64_t id = 0;
  std::string accession, status, due_at, question;
  bool overdue = false;
};

struct CaseSlideRef {
  std::string slide_id, label;
};

struct AnnotationClass {
  std::string name, color;  // color "#rrggbb"
};

struct CaseDetail {
  CaseSummary summary;
  std::string specimen, site;
  std::vector<CaseSlideRef> slides;
  std::vector<AnnotationClass> annotation_classes;  // the case's class list, for new annotations
};

// Where an opened slide goes: beside the views already open, or in place of one.
struct ViewPlacement {
  bool beside = true;
  std::size_t replace = 0;  // the view replaced when not `beside`
};

struct SlideToOpen {
  std::string slide_id, label;
  SlideLayout layout;
  ViewPlacement placement;
};

struct CaseList {
  std::vector<CaseSummary> cases;
};

struct Thumbnail {
  std::string slide_id;
  RgbImage image;
};

// A request that failed: which, and what the server or network said.
struct CatalogueError {
  enum class Request { cases, case_detail, slide, thumbnail, annotations, report, sign, addendum, file };
  Request request = Request::cases;
  std::string operation;  // "loading the cases", "opening slide X", ...
  int status = 0;         // HTTP status; 0 when the server was not reached
  std::string message;
};

// The annotations of a slide of a case, as the server lists them.
struct AnnotationsLoaded {
  std::int64_t case_id = 0;
  std::string slide_id;
  nlohmann::json annotations;  // the list's "annotations" array
};
// The case (raw, as the report panel reads it) and its consult report: loaded, or after a sign-out or an
// addendum the server took.
struct ReportLoaded {
  std::int64_t case_id = 0;
  nlohmann::json case_json, report_json;
  std::string done;  // what just happened ("signed out", "addendum added"), "" for a plain load
};
// A file written from the server's answer (the report PDF, an annotation export), or an import it took.
struct FileDone {
  std::string message;  // "wrote report-S24-1234.pdf (3 pages)", "imported 12 annotations from x.geojson"
  std::int64_t case_id = 0;
  std::string slide_id;  // an import: the slide whose annotations to load again
};

using CatalogueAnswer = std::variant<CaseList, CaseDetail, SlideToOpen, Thumbnail, AnnotationsLoaded, ReportLoaded,
                                     FileDone, CatalogueError>;

// Parsing the server's JSON (pure, so it is tested alone).
CaseSummary parse_case_summary(const nlohmann::json& c);
CaseDetail parse_case_detail(const nlohmann::json& c);

class AppCatalogue {
 public:
  AppCatalogue(std::string base_url, std::string token, int workers = 3);
  ~AppCatalogue();
  AppCatalogue(const AppCatalogue&) = delete;
  AppCatalogue& operator=(const AppCatalogue&) = delete;

  void request_cases();
  void request_case(std::int64_t case_id);
  void request_slide(const std::string& slide_id, const std::string& label, ViewPlacement placement);
  void request_thumbnail(const std::string& slide_id);
  // The record's reads and the requests that are not queued for later (a sign-out or an addendum must be
  // answered now, with the consultant watching; drafts and annotations go through the RecordOutbox).
  void request_annotations(std::int64_t case_id, const std::string& slide_id);
  void request_report(std::int64_t case_id);
  void request_sign(std::int64_t case_id, std::int64_t version);
  void request_addendum(std::int64_t case_id, const std::string& text);
  void request_report_pdf(std::int64_t case_id, const std::string& path);
  // format: geojson, asap or imagescope.
  void request_export(std::int64_t case_id, const std::string& slide_id, const std::string& format,
                      const std::string& path);
  void request_import(std::int64_t case_id, const std::string& slide_id, const std::string& path);
  // Called from the worker after each answer (the window wakes its event loop with it).
  void on_answer(std::function<void()> wake);

  std::vector<CatalogueAnswer> take_answers();
  bool busy() const;

 private:
  using Job = std::function<CatalogueAnswer(ApiClient&)>;
  void post(Job job);
  void run(const std::stop_token& stop);

  std::string base_url_, token_;
  mutable std::mutex mutex_;  // guards jobs_, answers_, running_ and wake_
  std::condition_variable_any wake_worker_;
  std::deque<Job> jobs_;
  std::vector<CatalogueAnswer> answers_;
  int running_ = 0;
  std::function<void()> wake_;
  std::vector<std::jthread> workers_;  // last: they stop and join before the members they use go
};

}  // namespace reread::viewer
