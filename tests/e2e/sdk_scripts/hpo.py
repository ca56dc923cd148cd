"""A hyperparameter optimizer run locally: a grid over the base task's General/x and
General/y, each job a clone of the base run as a local subprocess; prints the best job."""

import sys

from clearml import Task
from clearml.automation import DiscreteParameterRange, GridSearch, HyperParameterOptimizer

base = sys.argv[1]
task = Task.init(
    project_name="sdk hpo",
    task_name="hpo controller",
    task_type=Task.TaskTypes.optimizer,
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
    auto_connect_frameworks=False,
)
print("TASK", task.id, flush=True)
optimizer = HyperParameterOptimizer(
    base_task_id=base,
    hyper_parameters=[
        DiscreteParameterRange("General/x", values=[1, 3, 5]),
        DiscreteParameterRange("General/y", values=[0, 1]),
    ],
    objective_metric_title="score",
    objective_metric_series="value",
    objective_metric_sign="max",
    optimizer_class=GridSearch,
    max_number_of_concurrent_tasks=2,
    total_max_jobs=6,
    pool_period_min=0.02,
    time_limit_per_job=3.0,
)
optimizer.set_report_period(0.02)
optimizer.start_locally()
optimizer.wait()
top = optimizer.get_top_experiments(1)
print("BEST", top[0].id, flush=True)
optimizer.stop()
task.close()
