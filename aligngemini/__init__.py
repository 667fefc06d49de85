"""AlignGemini: AI-generated image detection by task-model alignment (plain library, no Prefect)."""

__version__ = "0.1.0"
