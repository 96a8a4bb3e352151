"""From a trained model or a classical baseline to restored images: loading, inference,
the predictions file, and the command that restores a user's own folder.
"""
