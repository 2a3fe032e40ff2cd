pytest_plugins = ["pipeline.harness.plugin"]  # the evaluation harness: options, hooks, fixtures
