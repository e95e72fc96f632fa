// FlareConfig: see Package.swift for the module's role.
