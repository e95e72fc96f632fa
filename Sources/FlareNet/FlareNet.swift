// FlareNet: see Package.swift for the module's role.
