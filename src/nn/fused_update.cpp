// Optimizer::step_fused: every update rule of optimizer.hpp taken straight from a layer's
// unformed gradient (dz and x), each parameter and its state read and written once.
//
// The reference path forms dW = dz x^T into a buffer, scales it (the seed's summed
// gradients), reads it again for the clipping norm and again to clip, then the rule reads it
// once per formula (Adam: m, s, then w). Here the rule's formulas run in one pass over w, m
// and s with g = scale (dz x^T) formed beside them: a column at a time, in a buffer the size
// of one column, for the sparse first layer (its dW is never stored), or by one product
// into the gradient buffer for the other layers. The rules are the reference's exactly
// (the same formulas, no lazy moments: a weight with a zero gradient still decays).
#include <omp.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backprop/error.hpp"
#include "backprop/nn/optimizer.hpp"
#include "backprop/nn/product.hpp"

namespace backprop {

namespace {

using Index = Eigen::Index;

enum class Kind { sgd, momentum, nesterov, adam };

// One step's constants of the configured rule.
template <typename T>
struct Rule {
  Kind kind = Kind::sgd;
  bool decoupled = false;   // adamw: the decay applied to w, not added to g
  T lr = 0, mu = 0, b1 = 0, b2 = 0, eps = 0, weight_decay = 0;
  T inv_correction1 = 1, inv_correction2 = 1;  // 1 / (1 - b^t)
  int buffers() const { return kind == Kind::adam ? 2 : kind == Kind::sgd ? 0 : 1; }
};

template <typename T>
using ConstSpan = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// The target's widest vectors (GCC's vector extension, as sparse.cpp): 64 bytes with
// AVX-512, else 32 (a 64-byte vector on AVX2 made GCC spill its halves to the stack). One
// pass of the rule's formulas over a vector of floats or doubles at a time, every array
// loaded and stored once. (Eigen's expressions took one pass per formula, and recomputed
// g + wd w in each.)
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#else
constexpr int kVectorBytes = 32;
#endif
typedef float VecFloat __attribute__((vector_size(kVectorBytes)));
typedef double VecDouble __attribute__((vector_size(kVectorBytes)));
template <typename T>
using Vec = std::conditional_t<std::is_same_v<T, float>, VecFloat, VecDouble>;
template <typename T>
constexpr int kLanes = kVectorBytes / sizeof(T);

template <typename T>
Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof v);
}
// sqrt(x), exact (IEEE) in both precisions, in one vector instruction. (GCC's vector
// extension has no sqrt: a lane-by-lane std::sqrt spilled every vector to the stack and
// made Adam's step 16% of a small table's training in the x86-64-v3 build. The hardware's
// 14-bit estimates with a Newton step measured no faster: a big layer's step waits on
// memory, not arithmetic.)
template <typename T>
Vec<T> square_root(Vec<T> x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) return reinterpret_cast<Vec<T>>(_mm512_sqrt_ps(reinterpret_cast<__m512>(x)));
  else return reinterpret_cast<Vec<T>>(_mm512_sqrt_pd(reinterpret_cast<__m512d>(x)));
#elif defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) return reinterpret_cast<Vec<T>>(_mm256_sqrt_ps(reinterpret_cast<__m256>(x)));
  else return reinterpret_cast<Vec<T>>(_mm256_sqrt_pd(reinterpret_cast<__m256d>(x)));
#else
  for (int i = 0; i < kLanes<T>; ++i) x[i] = std::sqrt(x[i]);
  return x;
#endif
}
template <typename T>
T square_root(T x) {
  return std::sqrt(x);
}

// The rule K on entries w, its state s0 (velocity or first moment) and s1 (second moment),
// and its gradient scale * g; V is Vec<T> or T (the last entries). l2: the L2 coefficient
// (0 for biases, and for adamw, whose decay is `decay`).
template <Kind K, typename T, typename V>
inline void rule_on(const Rule<T>& r, T scale, T l2, T decay, T* w, T* s0, T* s1, const T* g) {
  constexpr bool vector = !std::is_same_v<V, T>;
  const auto get = [](const T* p) -> V {
    if constexpr (vector) return load(p);
    else return *p;
  };
  const auto put = [](T* p, const V& v) {
    if constexpr (vector) store(p, v);
    else *p = v;
  };
  V W = get(w);
  const V G = scale * get(g) + l2 * W;  // g (+ wd w)
  if constexpr (K == Kind::sgd) {
    W -= r.lr * G;  // w <- w - lr g
  } else if constexpr (K == Kind::momentum) {
    const V v = r.mu * get(s0) + G;  // v <- mu v + g
    put(s0, v);
    W -= r.lr * v;
  } else if constexpr (K == Kind::nesterov) {
    const V v = r.mu * get(s0) + G;
    put(s0, v);
    W -= r.lr * (G + r.mu * v);  // look ahead along the new velocity
  } else {
    const V m = r.b1 * get(s0) + (1 - r.b1) * G;      // first moment
    const V s = r.b2 * get(s1) + (1 - r.b2) * G * G;  // second moment
    put(s0, m);
    put(s1, s);
    if (decay > 0) W *= 1 - r.lr * decay;  // AdamW: decay the weights directly
    W -= r.lr * (m * r.inv_correction1) / (square_root<T>(s * r.inv_correction2) + r.eps);
  }
  put(w, W);
}

// The rule K on n entries, one pass. (The rule is chosen once per call, outside the loop:
// a switch inside it kept GCC from holding the constants and pointers in registers.)
template <Kind K, typename T>
void apply_kind(const Rule<T>& rule, T scale, T l2, T decay, Index n, T* w, T* s0, T* s1, const T* g) {
  const Rule<T> r = rule;  // a copy no store through w, s0, s1 can alias: its constants stay in registers
  constexpr int N = kLanes<T>;
  constexpr bool first = K != Kind::sgd, second = K == Kind::adam;
  Index i = 0;
  for (; i + N <= n; i += N)
    rule_on<K, T, Vec<T>>(r, scale, l2, decay, w + i, first ? s0 + i : nullptr, second ? s1 + i : nullptr, g + i);
  for (; i < n; ++i)
    rule_on<K, T, T>(r, scale, l2, decay, w + i, first ? s0 + i : nullptr, second ? s1 + i : nullptr, g + i);
}

template <typename T>
void apply_rule(const Rule<T>& r, T scale, T l2, T decay, Index n, T* w, T* s0, T* s1, const T* g) {
  switch (r.kind) {
    case Kind::sgd: return apply_kind<Kind::sgd>(r, scale, l2, decay, n, w, s0, s1, g);
    case Kind::momentum: return apply_kind<Kind::momentum>(r, scale, l2, decay, n, w, s0, s1, g);
    case Kind::nesterov: return apply_kind<Kind::nesterov>(r, scale, l2, decay, n, w, s0, s1, g);
    case Kind::adam: return apply_kind<Kind::adam>(r, scale, l2, decay, n, w, s0, s1, g);
  }
}

// Below this many entries a parallel region costs more than it saves.
constexpr Index kParallelEntries = 1 << 15;

// apply_rule over a whole matrix, split between the threads by chunks of columns.
template <typename T>
void apply_rule_parallel(const Rule<T>& r, T scale, T l2, T decay, Matrix<T>& w, T* s0, T* s1, const T* g) {
  const Index n = w.size();
  constexpr Index kBlock = 1 << 14;
  const Index blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelEntries)
  for (Index k = 0; k < blocks; ++k) {
    const Index at = k * kBlock, len = std::min(kBlock, n - at);
    apply_rule(r, scale, l2, decay, len, w.data() + at, s0 ? s0 + at : nullptr, s1 ? s1 + at : nullptr, g + at);
  }
}

}  // namespace

template <typename T>
void Optimizer<T>::step_fused(const std::vector<Param<T>>& params, const std::vector<OuterGradient<T>>& layers, T lr,
                              T weight_scale, double clip_norm) {
  if (params.size() != 2 * layers.size()) throw Error("step_fused: expected a weight and a bias per layer");
  const OptimizerConfig& c = config_;
  Rule<T> rule;
  rule.kind = c.name == "momentum"   ? Kind::momentum
              : c.name == "nesterov" ? Kind::nesterov
              : c.name == "adam" || c.name == "adamw" ? Kind::adam
                                                      : Kind::sgd;
  rule.decoupled = c.name == "adamw";
  if (rule.buffers() > 0) ensure_state(params, rule.buffers());
  ++t_;
  rule.lr = lr;
  rule.mu = T(c.momentum);
  rule.b1 = T(c.beta1);
  rule.b2 = T(c.beta2);
  rule.eps = T(c.eps);
  rule.weight_decay = T(c.weight_decay);
  rule.inv_correction1 = T(1 / (1 - std::pow(c.beta1, double(t_))));  // bias corrections at step t
  rule.inv_correction2 = T(1 / (1 - std::pow(c.beta2, double(t_))));
  const std::size_t L = layers.size(), P = params.size();

  if (rule.kind == Kind::sgd && c.weight_decay == 0 && clip_norm == 0) {
    // Plain SGD: W <- W - lr s dz x^T accumulated straight into W (one product, or the
    // sparse sum), and b <- b - lr dz 1. No gradient is ever stored.
    for (std::size_t l = 0; l < L; ++l) {
      const OuterGradient<T>& g = layers[l];
      Matrix<T>& W = *params[2 * l].value;
      if (g.nonzeros)
        sparse_add_outer(-lr * weight_scale, *g.dz, *g.nonzeros, W);
      else
        W.noalias() -= (lr * weight_scale) * (*g.dz * g.x->transpose());
      params[2 * l + 1].value->noalias() -= lr * g.dz->rowwise().sum();
    }
    return;
  }

  // What is stored: db for every layer, and dW for the layers with a dense x (one product).
  // The sparse layer's dW is formed a column at a time, once for the clipping norm (if any)
  // and once where W is updated.
  const int threads = omp_get_max_threads();
  Index widest = 0;
  for (const auto& g : layers) widest = std::max(widest, g.dz->rows());
  if (columns_.size() < std::size_t(threads * widest)) columns_.resize(std::size_t(threads * widest));
  for (std::size_t l = 0; l < L; ++l) {
    const OuterGradient<T>& g = layers[l];
    *params[2 * l + 1].grad = g.dz->rowwise().sum();
    if (!g.nonzeros) multiply(T(1), *g.dz, Op::none, *g.x, Op::transpose, *params[2 * l].grad);  // dW = dz x^T
  }

  T clip = 1;
  if (clip_norm > 0) {  // the global norm of the scaled gradients, summed in a fixed order
    double squared = 0;
    for (std::size_t l = 0; l < L; ++l) {
      const OuterGradient<T>& g = layers[l];
      double weights = 0;
      if (g.nonzeros) {
        const Index n_in = g.nonzeros->rows, n_out = g.dz->rows();
        norms_.resize(std::size_t(n_in));
#pragma omp parallel for schedule(static) if (n_in * n_out >= kParallelEntries)
        for (Index i = 0; i < n_in; ++i) {
          T* column = columns_.data() + omp_get_thread_num() * widest;
          sparse_outer_column(*g.dz, *g.nonzeros, i, column);
          norms_[std::size_t(i)] = double(ConstSpan<T>(column, n_out).square().sum());
        }
        for (double v : norms_) weights += v;
      } else {
        weights = double(params[2 * l].grad->squaredNorm());
      }
      squared += double(weight_scale) * double(weight_scale) * weights + double(params[2 * l + 1].grad->squaredNorm());
    }
    const double norm = std::sqrt(squared);
    if (norm > clip_norm) clip = T(clip_norm / norm);
  }

  const auto state = [&](std::size_t p, int k) -> T* {
    return k < rule.buffers() ? state_[std::size_t(k) * P + p].data() : nullptr;
  };
  const T l2 = rule.decoupled ? T(0) : rule.weight_decay;    // added to the weights' g
  const T decay = rule.decoupled ? rule.weight_decay : T(0);  // applied to the weights directly
  for (std::size_t l = 0; l < L; ++l) {
    const OuterGradient<T>& g = layers[l];
    const std::size_t pw = 2 * l, pb = 2 * l + 1;
    Matrix<T>& W = *params[pw].value;
    if (g.nonzeros) {  // a column of dW at a time, used where it is formed
      const Index n_in = W.cols(), n_out = W.rows();
      T* s0 = state(pw, 0);
      T* s1 = state(pw, 1);
#pragma omp parallel for schedule(static) if (n_in * n_out >= kParallelEntries)
      for (Index i = 0; i < n_in; ++i) {
        T* column = columns_.data() + omp_get_thread_num() * widest;
        sparse_outer_column(*g.dz, *g.nonzeros, i, column);
        const Index at = i * n_out;
        apply_rule(rule, weight_scale * clip, l2, decay, n_out, W.data() + at, s0 ? s0 + at : nullptr,
                   s1 ? s1 + at : nullptr, column);
      }
    } else {
      apply_rule_parallel(rule, weight_scale * clip, l2, decay, W, state(pw, 0), state(pw, 1), params[pw].grad->data());
    }
    apply_rule(rule, clip, T(0), T(0), params[pb].value->size(), params[pb].value->data(), state(pb, 0), state(pb, 1),
               params[pb].grad->data());
  }
}

template void Optimizer<float>::step_fused(const std::vector<Param<float>>&, const std::vector<OuterGradient<float>>&,
                                           float, float, double);
template void Optimizer<double>::step_fused(const std::vector<Param<double>>&,
                                            const std::vector<OuterGradient<double>>&, double, double, double);

}  // namespace backprop
