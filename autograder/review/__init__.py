"""What a TA reviews after grading: code similarity between submissions and with course_lib
(:mod:`.similarity`), and the class-wide grading summary (:mod:`.summary`)."""
