// POST /api/predict for models that are not MNIST's (issue 12): a table's classifier and a
// regression, whose scaling (and target standardisation) the model file carries. The API
// must apply it exactly as training did: the answers are compared with the network run on
// Scaling::apply's inputs.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/web/predict_api.hpp"
#include "backprop/web/run_page.hpp"
#include "test_serve_util.hpp"

using namespace backprop;
using backprop::web::PredictApi;
using nlohmann::json;

namespace {

// A 3-feature model, standard scaling with very different means and deviations.
ModelFile table_model(const std::filesystem::path& path, bool regression) {
  NetworkSpec spec;
  spec.sizes = {3, 8, regression ? 2 : 4};
  spec.activations = {Activation::tanh};
  spec.head = regression ? HeadKind::mse : HeadKind::softmax_cross_entropy;
  spec.validate(3, spec.sizes.back());
  std::mt19937_64 rng(11);
  Network<float> network(spec, &rng);
  initialize(network, InitScheme::xavier_normal, rng);
  DataSchema schema;
  schema.features = 3;
  schema.scaling.kind = ScaleKind::standard;
  schema.scaling.mean = {1000.0f, -2.0f, 0.5f};
  schema.scaling.deviation = {250.0f, 0.01f, 3.0f};
  if (regression) {
    schema.target_mean = {150.0, -3.0};
    schema.target_deviation = {40.0, 0.5};
  } else {
    schema.classes = {"ant", "bee", "cat", "dog"};
  }
  save_model(path.string(), network, &schema);
  return read_model(path.string());
}

// The network's outputs for one raw row, scaled as training scales it.
Matrix<float> expected_scores(const ModelFile& model, const std::vector<float>& raw) {
  Network<float> network = make_inference_network<float>(model);
  Matrix<float> x(static_cast<Eigen::Index>(raw.size()), 1);
  model.data.scaling.apply(raw.data(), raw.size(), x.data());
  return network.predict(x);
}

}  // namespace

TEST(PredictAnyModel, TableClassifierTakesFeaturesScaledAsInTraining) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "table.model", false);
  PredictApi api(model, "table.model");
  const std::vector<float> raw = {1200.0f, -2.005f, 4.0f};
  const web::ApiReply reply = api.predict(json{{"features", raw}}.dump(), "application/json");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  const Matrix<float> p = expected_scores(model, raw);
  Eigen::Index best = 0;
  p.col(0).maxCoeff(&best);
  EXPECT_EQ(reply.body["class"], best);
  EXPECT_EQ(reply.body["class_name"], model.data.classes[std::size_t(best)]);
  ASSERT_EQ(reply.body["probabilities"].size(), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(reply.body["probabilities"][k].get<double>(), p(k, 0), 2e-6);

  const json described = api.model().body;
  EXPECT_EQ(described["task"], "classification");
  EXPECT_EQ(described["features"], 3);
  EXPECT_EQ(described["classes"], json({"ant", "bee", "cat", "dog"}));
  EXPECT_EQ(described["image"], false);
  EXPECT_EQ(described["scaling"], "standard");

  // A batch of rows answers each row as alone.
  const web::ApiReply rows = api.predict(json{{"features", {raw, raw}}}.dump(), "application/json");
  ASSERT_EQ(rows.status, 200) << rows.body.dump();
  ASSERT_EQ(rows.body["predictions"].size(), 2u);
  EXPECT_EQ(rows.body["predictions"][1]["class_name"], reply.body["class_name"]);
}

TEST(PredictAnyModel, TableModelRefusesImagesAndBadRows) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "table.model", false);
  PredictApi api(model, "table.model");
  const auto error_of = [&](const std::string& body, const std::string& type) {
    const web::ApiReply reply = api.predict(body, type);
    EXPECT_EQ(reply.status, 400) << body;
    return reply.body.value("error", std::string());
  };
  EXPECT_NE(error_of(json{{"pixels", std::vector<double>(784, 0.0)}}.dump(), "application/json").find("features"),
            std::string::npos);
  EXPECT_NE(error_of("\x89PNG....", "image/png").find("not an image"), std::string::npos);
  EXPECT_NE(error_of(json{{"features", {1, 2}}}.dump(), "application/json").find("has 2 values; the model takes 3"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"features": [1, "x", 3]})", "application/json").find("features[1] is not a number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"features": [1, 1e39, 3]})", "application/json").find("not a finite float32"),
            std::string::npos);
}

TEST(PredictAnyModel, RegressionAnswersInTheTargetsUnits) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "reg.model", true);
  PredictApi api(model, "reg.model");
  const std::vector<float> raw = {800.0f, -1.99f, -1.0f};
  const web::ApiReply reply = api.predict(json{{"features", raw}}.dump(), "application/json");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_FALSE(reply.body.contains("class"));
  const Matrix<float> z = expected_scores(model, raw);
  ASSERT_EQ(reply.body["prediction"].size(), 2u);
  EXPECT_NEAR(reply.body["prediction"][0].get<double>(), z(0, 0) * 40.0 + 150.0, 1e-3);
  EXPECT_NEAR(reply.body["prediction"][1].get<double>(), z(1, 0) * 0.5 - 3.0, 1e-5);
  EXPECT_EQ(api.model().body["task"], "regression");
}

TEST(PredictAnyModel, ImageModelTakesFeaturesAsBytes) {
  serve_test::TempDir dir;
  const ModelFile model = serve_test::small_model(dir.path / "small.model");
  PredictApi api(model, "small.model");
  EXPECT_EQ(api.model().body["image"], true);
  std::vector<double> bytes(784), pixels(784);
  for (int i = 0; i < 784; ++i) bytes[i] = (i * 37) % 256, pixels[i] = static_cast<float>(bytes[i]) / 255.0f;
  const web::ApiReply a = api.predict(json{{"features", bytes}}.dump(), "application/json");
  const web::ApiReply b = api.predict(json{{"pixels", pixels}}.dump(), "application/json");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  ASSERT_EQ(b.status, 200) << b.body.dump();
  EXPECT_EQ(a.body["class"], b.body["class"]);
  for (int k = 0; k < 10; ++k)
    EXPECT_NEAR(a.body["probabilities"][k].get<double>(), b.body["probabilities"][k].get<double>(), 1e-6);
  EXPECT_EQ(a.body["class_name"], std::to_string(a.body["class"].get<int>()));
}

namespace {

// 40 rows of the table model's 3 features (near its scaling's means), then the label columns.
std::vector<std::vector<float>> write_table(const std::filesystem::path& path, bool regression) {
  static const char* kNames[] = {"ant", "bee", "cat", "dog"};
  std::ofstream out(path);
  out << (regression ? "a,b,c,y1,y2\n" : "a,b,c,label\n");
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 40; ++i) {
    rows.push_back({1000.0f + 250.0f * noise(rng), -2.0f + 0.01f * noise(rng), 0.5f + 3.0f * noise(rng),
                    150.0f + 40.0f * noise(rng)});
    const auto& r = rows.back();
    out << r[0] << ',' << r[1] << ',' << r[2] << ',';
    if (regression) out << r[3] << ',' << -3.0f << '\n';
    else out << kNames[i % 4] << '\n';
  }
  return rows;
}

}  // namespace

TEST(RunPageAnyModel, TableClassifierHasAKByKConfusionAndNoPictures) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "table.model", false);
  write_table(dir.path / "t.csv", false);
  DataOptions data;
  data.path = data.test_path = (dir.path / "t.csv").string();
  Dataset test, samples;
  std::string note;
  ASSERT_TRUE(web::load_run_sets(data, model.data, test, samples, note)) << note;
  EXPECT_EQ(samples.count, 0u);  // no pictures of a table
  web::RunInputs inputs;
  inputs.name = "table";
  inputs.model = &model;
  inputs.test = &test;
  const json page = web::build_run_data(inputs);
  const json& evaluation = page["evaluation"];
  ASSERT_TRUE(evaluation.is_object()) << page.dump();
  EXPECT_EQ(evaluation["classes"], json({"ant", "bee", "cat", "dog"}));
  EXPECT_EQ(evaluation["image"], false);
  ASSERT_EQ(evaluation["confusion"].size(), 4u);
  long total = 0, diagonal = 0;
  for (int t = 0; t < 4; ++t) {
    long row = 0;
    for (int p = 0; p < 4; ++p) row += evaluation["confusion"][t][p].get<long>();
    EXPECT_EQ(row, 10) << "class " << t;  // each class has 10 of the 40 rows
    total += row;
    diagonal += evaluation["confusion"][t][t].get<long>();
  }
  EXPECT_EQ(total, 40);
  EXPECT_NEAR(evaluation["accuracy"].get<double>(), diagonal / 40.0, 1e-12);
  EXPECT_TRUE(page["misclassified"].empty());
  EXPECT_TRUE(page["samples"].empty());
}

TEST(RunPageAnyModel, RegressionPlotsPredictedAgainstTrueInTheTargetsUnits) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "reg.model", true);
  const auto rows = write_table(dir.path / "r.csv", true);
  DataOptions data;
  data.path = data.test_path = (dir.path / "r.csv").string();
  data.read.label = "y1,y2";
  Dataset test, samples;
  std::string note;
  ASSERT_TRUE(web::load_run_sets(data, model.data, test, samples, note)) << note;
  web::RunInputs inputs;
  inputs.model = &model;
  inputs.test = &test;
  const json evaluation = web::build_run_data(inputs)["evaluation"];
  ASSERT_TRUE(evaluation.is_object());
  EXPECT_FALSE(evaluation.contains("confusion"));
  EXPECT_NEAR(evaluation["rmse"].get<double>(), std::sqrt(evaluation["mse"].get<double>()), 1e-9);
  ASSERT_EQ(evaluation["scatter"].size(), 40u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Matrix<float> z = expected_scores(model, {rows[i][0], rows[i][1], rows[i][2]});
    EXPECT_NEAR(evaluation["scatter"][i]["x"].get<double>(), rows[i][3], 1e-3 * std::fabs(rows[i][3]));
    EXPECT_NEAR(evaluation["scatter"][i]["y"].get<double>(), z(0, 0) * 40.0 + 150.0, 1e-2);
  }
}

TEST(RunPageAnyModel, DataThatIsNotThereIsANoteNamingIt) {
  serve_test::TempDir dir;
  const ModelFile model = table_model(dir.path / "table.model", false);
  DataOptions data;
  data.path = (dir.path / "nowhere.csv").string();
  Dataset test, samples;
  std::string note;
  EXPECT_FALSE(web::load_run_sets(data, model.data, test, samples, note));
  EXPECT_NE(note.find("nowhere.csv"), std::string::npos) << note;
}
