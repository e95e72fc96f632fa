print("flare-bench")
