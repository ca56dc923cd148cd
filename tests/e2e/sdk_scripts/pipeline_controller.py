"""A PipelineController of two function steps, run locally with its steps. The first step's
result is a list, so it travels to the second as a pickled artifact; the second's, an int, as
a parameter."""

from clearml import PipelineController


def split(x: int) -> list:
    return [int(x), int(x) * 2]


def total(parts: list) -> int:
    return sum(parts)


pipe = PipelineController(name="splitter", project="sdk pipelines", version="1.0.0")
pipe.add_parameter("x", 3)
pipe.add_function_step(
    name="split",
    function=split,
    function_kwargs={"x": "${pipeline.x}"},
    function_return=["parts"],
    cache_executed_step=False,
)
pipe.add_function_step(
    name="total",
    parents=["split"],
    function=total,
    function_kwargs={"parts": "${split.parts}"},
    function_return=["sum"],
    cache_executed_step=False,
)
pipe.start_locally(run_pipeline_steps_locally=True)
print("TASK", pipe.id, flush=True)
