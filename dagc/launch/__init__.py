"""A checked strategy → the commands that start it on vLLM, SGLang and TensorRT-LLM."""
