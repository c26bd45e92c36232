#include "mahal/lmnn.hpp"

#include <Eigen/Eigenvalues>
#include <chrono>

#include "blas_threads.hpp"
#include "lmnn_objective.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"

namespace mahal {
namespace detail {

stopwatch::stopwatch()
    : start_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count()) {}

double stopwatch::seconds() const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  return 1e-9 * static_cast<double>(now - start_ns_);
}

template <class T>
void transform_into(backend<T>& be, const matrix<double>& L, const device_array<T>& X,
                    device_array<T>& L_dev, device_array<T>& Z) {
  if (L_dev.rows() != L.rows() || L_dev.cols() != L.cols()) L_dev = be.alloc(L.rows(), L.cols());
  if (Z.rows() != L.rows() || Z.cols() != X.cols()) Z = be.alloc(L.rows(), X.cols());
  const matrix<T> Lt = L.cast<T>();
  be.upload(Lt.data(), L_dev);
  be.gemm(false, false, T(1), L_dev, X, T(0), Z);
}

template void transform_into<float>(backend<float>&, const matrix<double>&,
                                    const device_array<float>&, device_array<float>&,
                                    device_array<float>&);
template void transform_into<double>(backend<double>&, const matrix<double>&,
                                     const device_array<double>&, device_array<double>&,
                                     device_array<double>&);

}  // namespace detail

namespace {

constexpr const char* kFit = "mahal::fit_lmnn";

template <class T>
matrix<double> initial_map(matrix_ref<T> X, const lmnn_options& o) {
  const index_t d = X.rows();
  if (o.init == lmnn_init::given) {
    expects(o.L0.cols() == d && o.L0.rows() >= 1 && o.L0.rows() <= d, kFit, "L0 is ", o.L0.rows(),
            "x", o.L0.cols(), " but X has d = ", d, " rows (need 1 <= r <= d)");
    expects(o.rank == 0 || o.rank == o.L0.rows(), kFit, "rank = ", o.rank, " but L0 has ",
            o.L0.rows(), " rows");
    expects(o.L0.allFinite(), kFit, "L0 has non-finite entries");
    return o.L0;
  }
  const index_t r = o.rank == 0 ? d : o.rank;
  expects(r >= 1 && r <= d, kFit, "rank = ", o.rank, " must be in [1, d = ", d, "]");
  if (o.init == lmnn_init::identity) return matrix<double>::Identity(r, d);
  // PCA: the r leading eigenvectors of the covariance as rows.
  const matrix<double> Xd = X.template cast<double>();
  const matrix<double> C = Xd.colwise() - Xd.rowwise().mean();
  const matrix<double> S = C * C.transpose() / static_cast<double>(std::max<index_t>(1, X.cols()));
  Eigen::SelfAdjointEigenSolver<matrix<double>> eig(S);
  matrix<double> L(r, d);
  for (index_t t = 0; t < r; ++t) L.row(t) = eig.eigenvectors().col(d - 1 - t).transpose();
  return L;
}

}  // namespace

std::string to_string(lmnn_solver solver) {
  switch (solver) {
    case lmnn_solver::lbfgs:
      return "lbfgs";
    case lmnn_solver::sgd:
      return "sgd";
    case lmnn_solver::m_space:
      return "m-space";
  }
  return "lbfgs";
}

lmnn_solver parse_lmnn_solver(const std::string& name) {
  if (name == "lbfgs") return lmnn_solver::lbfgs;
  if (name == "sgd") return lmnn_solver::sgd;
  if (name == "m-space" || name == "m_space" || name == "mspace") return lmnn_solver::m_space;
  throw invalid_argument("mahal::parse_lmnn_solver: unknown solver '" + name +
                         "' (expected lbfgs, sgd or m-space)");
}

template <class T>
lmnn_result<T> fit_lmnn(backend<T>& be, matrix_ref<T> X, label_ref y, const lmnn_options& options) {
  const detail::stopwatch clock;
  const detail::blas_single_thread blas_guard(be.where() == device::cpu);
  detail::lmnn_problem<T> problem(be, X, y, options, kFit);
  matrix<double> L = initial_map<T>(X, options);
  expects(options.max_iterations >= 0, kFit, "max_iterations = ", options.max_iterations,
          " is negative");
  expects(options.full_search_every >= 1, kFit, "full_search_every = ", options.full_search_every,
          " must be at least 1");
  lmnn_result<T> result;
  switch (options.solver) {
    case lmnn_solver::lbfgs:
      detail::solve_lmnn_lbfgs(problem, L, options, result, clock);
      break;
    case lmnn_solver::m_space:
      expects(L.rows() == L.cols(), kFit,
              "the m-space solver learns a full d×d metric; rank = ", L.rows(), " < d = ", L.cols(),
              " needs the lbfgs or sgd solver");
      detail::solve_lmnn_mspace(problem, L, options, result, clock);
      break;
    case lmnn_solver::sgd:
      detail::solve_lmnn_sgd(problem, L, options, result, clock);
      break;
  }
  // Exact final evaluation: a full search with no band finds every pair that can be active.
  // The lbfgs and m-space solvers always end with a search (band >= 0) at the final L: its
  // candidates are a superset of those pairs, so the objective over them is already exact.
  problem.set_batch({});
  device_array<T> L_dev, Z;
  detail::transform_into(be, L, problem.X(), L_dev, Z);
  if (options.solver == lmnn_solver::sgd) {
    problem.full_search(Z, 0.0);
    ++result.full_searches;
  }
  const detail::lmnn_terms t = problem.evaluate(Z, true);
  device_array<T> grad = be.alloc(L.rows(), L.cols());
  problem.gradient_L(Z, L_dev, grad);
  result.L = L.cast<T>();
  result.A = (L.transpose() * L).cast<T>();
  result.objective = t.objective;
  result.active_triplets = t.active_triplets;
  result.gradient_norm = static_cast<double>(std::sqrt(be.dot(grad, grad)));
  result.seconds = clock.seconds();
  result.search_seconds = problem.search_seconds();
  result.evaluation_seconds = problem.evaluation_seconds();
  result.candidate_pairs = problem.candidates();
  return result;
}

template <class T>
lmnn_evaluation<T> evaluate_lmnn(backend<T>& be, matrix_ref<T> X, label_ref y, matrix_ref<T> L,
                                 const lmnn_options& options) {
  const char* where = "mahal::evaluate_lmnn";
  detail::lmnn_problem<T> problem(be, X, y, options, where);
  expects(L.cols() == X.rows() && L.rows() >= 1 && L.rows() <= X.rows(), where, "L is ", L.rows(),
          "x", L.cols(), " but X has d = ", X.rows(), " rows");
  check_finite<T>(L, where, "L");
  device_array<T> L_dev = to_device<T>(be, L);
  device_array<T> Z = be.alloc(L.rows(), X.cols());
  be.gemm(false, false, T(1), L_dev, problem.X(), T(0), Z);
  problem.full_search(Z, 0.0);
  const detail::lmnn_terms t = problem.evaluate(Z, true);
  device_array<T> gL = be.alloc(L.rows(), L.cols()), gM = be.alloc(X.rows(), X.rows());
  problem.gradient_L(Z, L_dev, gL);
  problem.gradient_M(gM);
  lmnn_evaluation<T> e;
  e.objective = t.objective;
  e.pull = t.pull;
  e.push = t.push;
  e.active_triplets = t.active_triplets;
  e.gradient_L = to_host(be, gL);
  e.gradient_M = to_host(be, gM);
  e.targets.resize(problem.k(), problem.n());
  for (index_t p = 0; p < problem.n(); ++p)
    for (index_t a = 0; a < problem.k(); ++a)
      e.targets(a, problem.original(p)) = problem.original(problem.targets()[p * problem.k() + a]);
  return e;
}

#define MAHAL_INSTANTIATE(T)                                                                       \
  template lmnn_result<T> fit_lmnn<T>(backend<T>&, matrix_ref<T>, label_ref, const lmnn_options&); \
  template lmnn_evaluation<T> evaluate_lmnn<T>(backend<T>&, matrix_ref<T>, label_ref,              \
                                               matrix_ref<T>, const lmnn_options&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal
