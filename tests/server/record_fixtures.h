// Values the record's tests share: a complete original report as a referring pathologist writes it.
#pragma once

#include <nlohmann/json.hpp>

namespace reread::test {

inline nlohmann::json sample_original_report() {
  return {{"diagnosis", "Invasive ductal carcinoma"},
          {"histologic_type", "ductal, NOS"},
          {"grade", "G2"},
          {"stage", "pT2 pN0"},
          {"margins", "negative, closest 3 mm"},
          {"lymph_nodes", "0/12"},
          {"biomarkers", nlohmann::json::array({{{"name", "ER"}, {"result", "positive (90%)"}},
                                                {{"name", "HER2"}, {"result", "1+ (negative)"}}})},
          {"full_text", "Left breast, wide local excision: invasive ductal carcinoma, grade 2, pT2 pN0."}};
}

}  // namespace reread::test
