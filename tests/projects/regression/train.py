"""A seeded linear regression on synthetic data: the same metrics on every run."""

import numpy as np
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import nbtrack as mlflow

np.random.seed(42)
X, y = make_regression(n_samples=200, n_features=5, noise=10.0, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)

with mlflow.start_run():
    model = Ridge(alpha=1.0).fit(X_train, y_train)
    predicted = model.predict(X_test)
    mlflow.log_metric("rmse", float(np.sqrt(mean_squared_error(y_test, predicted))))
    mlflow.log_metric("r2", float(r2_score(y_test, predicted)))
    print("rmse", np.sqrt(mean_squared_error(y_test, predicted)))
