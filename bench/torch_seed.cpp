// The seed network trained with libtorch (C++), tuned: the rival a C++ user would pick.
//
//   torch_seed --data DIR [--epochs 3] [--threads 2] [--mode manual|autograd] [--hidden 256]
//
// 784-H-10, sigmoid, softmax cross-entropy, batch 64, float32, plain SGD at the seed's
// learning rate 0.01 with the seed's reduction: weight gradients summed over the batch, bias
// gradients averaged (tests/oracle_seed.py). Initialisation as the seed: randn * sqrt(1/fan_in)
// weights, U[0,1) biases. The whole training set is one preloaded float32 tensor (p / 255);
// each epoch draws torch::randperm and gathers its batches with index_select. Weights are
// stored (in, out) as in the blog, so every product is a plain addmm.
//
//   autograd  forward with addmm/sigmoid/cross_entropy (mean), loss.backward(), then a manual
//             update under NoGradGuard: W -= (lr * B) dW_mean (= lr * dW_sum), b -= lr db_mean.
//             The same update as the seed's, batch by batch, the last short batch included.
//   manual    the hand-derived backward (as this project does), everything under NoGradGuard,
//             with the weight update fused into the gradient product: W1.addmm_(X^T, dz1, 1, -lr).
//             The fastest libtorch we know how to write for this network.
//
// Threads: at::set_num_threads(T) and at::set_num_interop_threads(1). Torch's products go to
// its BLAS (Debian: OpenBLAS); bench/run.sh picks the environment so only one pool runs.
// Prints one JSON object per epoch on stdout, training loop only (randperm, gathers, steps):
//   {"system":"libtorch","mode":"manual","threads":2,"epoch":0,"train_seconds":...,"train_loss":...}
// and finally the test accuracy (not timed), to show the run trained.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// An IDX file (magic, dims, bytes) as a uint8 tensor of its dims.
torch::Tensor read_idx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto be32 = [&](std::size_t at) {
    return std::int64_t(bytes.at(at)) << 24 | std::int64_t(bytes.at(at + 1)) << 16 |
           std::int64_t(bytes.at(at + 2)) << 8 | std::int64_t(bytes.at(at + 3));
  };
  const int rank = static_cast<int>(be32(0) & 0xFF);
  std::vector<std::int64_t> dims;
  std::int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(be32(4 + 4 * std::size_t(i)));
    count *= dims.back();
  }
  const std::size_t offset = 4 + 4 * std::size_t(rank);
  if (bytes.size() != offset + std::size_t(count)) throw std::runtime_error(path + ": wrong size");
  return torch::from_blob(bytes.data() + offset, dims, torch::kUInt8).clone();
}

struct Params {
  torch::Tensor w1, b1, w2, b2;  // (784, H), (H), (H, 10), (10)
};

Params seed_init(int hidden) {
  Params p;
  p.w1 = torch::randn({784, hidden}) * std::sqrt(1.0 / 784);
  p.w2 = torch::randn({hidden, 10}) * std::sqrt(1.0 / hidden);
  p.b1 = torch::rand({hidden});
  p.b2 = torch::rand({10});
  return p;
}

// One epoch with autograd; returns the sum of the batch losses.
double epoch_autograd(Params& p, const torch::Tensor& X, const torch::Tensor& Y, int batch, double lr) {
  const std::int64_t n = X.size(0);
  const torch::Tensor order = torch::randperm(n, torch::kLong);
  torch::Tensor loss_sum = torch::zeros({});
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t count = std::min<std::int64_t>(batch, n - start);
    const torch::Tensor idx = order.slice(0, start, start + count);
    const torch::Tensor x = X.index_select(0, idx), y = Y.index_select(0, idx);
    const torch::Tensor h = torch::sigmoid(torch::addmm(p.b1, x, p.w1));
    const torch::Tensor logits = torch::addmm(p.b2, h, p.w2);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    loss.backward();
    torch::NoGradGuard no_grad;
    const double weight_lr = lr * double(count);  // summed weight gradients = B x the mean's
    p.w1.sub_(p.w1.grad(), weight_lr);
    p.w2.sub_(p.w2.grad(), weight_lr);
    p.b1.sub_(p.b1.grad(), lr);
    p.b2.sub_(p.b2.grad(), lr);
    for (torch::Tensor* t : {&p.w1, &p.b1, &p.w2, &p.b2}) t->mutable_grad().zero_();
    loss_sum += loss.detach();
  }
  return loss_sum.item<double>();
}

// One epoch with the hand-derived backward and fused updates; returns the sum of the batch losses.
double epoch_manual(Params& p, const torch::Tensor& X, const torch::Tensor& Y, int batch, double lr) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = X.size(0);
  const torch::Tensor order = torch::randperm(n, torch::kLong);
  torch::Tensor loss_sum = torch::zeros({});
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t count = std::min<std::int64_t>(batch, n - start);
    const torch::Tensor idx = order.slice(0, start, start + count);
    const torch::Tensor x = X.index_select(0, idx);                      // (B, 784)
    const torch::Tensor y = Y.index_select(0, idx).unsqueeze(1);         // (B, 1)
    const torch::Tensor h = torch::addmm(p.b1, x, p.w1).sigmoid_();      // (B, H)
    const torch::Tensor log_y_hat = torch::addmm(p.b2, h, p.w2).log_softmax(1);  // (B, 10)
    loss_sum -= log_y_hat.gather(1, y).sum() / double(count);
    // dz2 = y_hat - y (the seed's sum: no 1/B); dh = dz2 W2^T; dz1 = dh * h (1 - h).
    torch::Tensor dz2 = log_y_hat.exp();
    dz2.scatter_add_(1, y, torch::full({count, 1}, -1.0f));
    const torch::Tensor dz1 = torch::sigmoid_backward(torch::mm(dz2, p.w2.t()), h);
    // W -= lr dW with dW = x^T dz summed over the batch; b -= lr mean(dz).
    p.w2.addmm_(h.t(), dz2, 1.0, -lr);
    p.w1.addmm_(x.t(), dz1, 1.0, -lr);
    p.b2.sub_(dz2.mean(0), lr);
    p.b1.sub_(dz1.mean(0), lr);
  }
  return loss_sum.item<double>();
}

double accuracy(const Params& p, const torch::Tensor& X, const torch::Tensor& Y) {
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = torch::addmm(p.b2, torch::sigmoid(torch::addmm(p.b1, X, p.w1)), p.w2);
  return logits.argmax(1).eq(Y).to(torch::kDouble).mean().item<double>();
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "data/mnist", mode = "manual";
  int epochs = 3, threads = 2, hidden = 256, batch = 64, seed = 0;
  const double lr = 0.01;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data") data = value;
    else if (flag == "--epochs") epochs = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--mode") mode = value;
    else if (flag == "--hidden") hidden = std::stoi(value);
    else if (flag == "--seed") seed = std::stoi(value);
    else {
      std::fprintf(stderr, "usage: torch_seed --data DIR [--epochs N] [--threads T] [--mode manual|autograd]\n");
      return 2;
    }
  }
  if (mode != "manual" && mode != "autograd") {
    std::fprintf(stderr, "torch_seed: --mode must be manual or autograd\n");
    return 2;
  }
  at::set_num_interop_threads(1);
  at::set_num_threads(threads);
  torch::manual_seed(seed);
  std::fprintf(stderr, "%s", at::get_parallel_info().c_str());

  try {
    const torch::Tensor X = read_idx(data + "/train-images-idx3-ubyte").reshape({-1, 784}).to(torch::kFloat) / 255;
    const torch::Tensor Y = read_idx(data + "/train-labels-idx1-ubyte").to(torch::kLong);
    Params p = seed_init(hidden);
    if (mode == "autograd")
      for (torch::Tensor* t : {&p.w1, &p.b1, &p.w2, &p.b2}) t->requires_grad_(true);
    const auto batches = (X.size(0) + batch - 1) / batch;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      const double loss_sum = mode == "manual" ? epoch_manual(p, X, Y, batch, lr) : epoch_autograd(p, X, Y, batch, lr);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("{\"system\":\"libtorch\",\"mode\":\"%s\",\"threads\":%d,\"epoch\":%d,\"train_seconds\":%.6f,"
                  "\"train_loss\":%.6f}\n",
                  mode.c_str(), threads, epoch, seconds, loss_sum / double(batches));
      std::fflush(stdout);
    }
    const torch::Tensor Xt = read_idx(data + "/t10k-images-idx3-ubyte").reshape({-1, 784}).to(torch::kFloat) / 255;
    const torch::Tensor Yt = read_idx(data + "/t10k-labels-idx1-ubyte").to(torch::kLong);
    std::printf("{\"system\":\"libtorch\",\"mode\":\"%s\",\"threads\":%d,\"test_accuracy\":%.4f}\n", mode.c_str(),
                threads, accuracy(p, Xt, Yt));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torch_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}
