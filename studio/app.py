"""``boltzmann-studio``: the desktop application."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="boltzmann-studio", description="Boltzmann Studio")
    parser.add_argument("--device", help="auto, cpu or cuda (default: the preference, else auto)")
    parser.add_argument("--data-root", help="folder holding the datasets (default: the preference, "
                                            "$BOLTZMANN_DATA, then ../shared/data)")
    parser.add_argument("--no-demo", action="store_true", help="start without the bundled demo model")
    parser.add_argument("--screenshot", metavar="DIR",
                        help="render the window and each panel to PNG files in DIR, then quit")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from studio.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Boltzmann Studio")
    app.setOrganizationName("Boltzmann Studio")
    settings = None
    if args.screenshot:
        # pictures show the default layout, not whatever the user last arranged
        import tempfile

        from PySide6.QtCore import QSettings

        from studio.settings import Settings

        tmp = tempfile.mkdtemp(prefix="boltzmann-shot-")
        settings = Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat))
    window = MainWindow(device=args.device, data_root=args.data_root, settings=settings,
                        load_demo=not args.no_demo)
    if args.screenshot:
        from studio import screenshot

        return screenshot.run(window, app, args.screenshot)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
