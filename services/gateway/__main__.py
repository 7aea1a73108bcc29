from services.gateway.main import serve

if __name__ == "__main__":
    serve()
